import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockWithPidFile } from "../src/pid-lock";
import { waitFor } from "./support/ports";
import { tempDir } from "./support/service";

const inUse = (holder: number) => `in use by ${holder}`;

describe("lockWithPidFile", () => {
  test("a live process holds the lock: a second one is refused with a message naming it", async () => {
    const lockFile = join(tempDir(), "lock");
    const holder = Bun.spawn([
      "bun",
      "-e",
      `import { lockWithPidFile } from ${JSON.stringify(join(import.meta.dir, "..", "src", "pid-lock.ts"))};
       lockWithPidFile(${JSON.stringify(lockFile)}, () => "");
       await Bun.sleep(30_000);`,
    ]);
    try {
      await waitFor(
        "the holder's lock",
        () => readFileSync(lockFile, "utf8").startsWith(String(holder.pid)) || undefined,
      );
      expect(() => lockWithPidFile(lockFile, inUse)).toThrow(`in use by ${holder.pid}`);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });

  test("a lock left by a dead process, or by a pid now reused by another process, is taken over", async () => {
    const lockFile = join(tempDir(), "lock");
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    writeFileSync(lockFile, `${dead.pid} 1`);
    const release = lockWithPidFile(lockFile, inUse);
    expect(readFileSync(lockFile, "utf8").split(" ")[0]).toBe(String(process.pid));
    release();

    const other = Bun.spawn(["sleep", "30"]);
    try {
      // The pid is alive, but it started at another time than the lock's holder did.
      writeFileSync(lockFile, `${other.pid} 1`);
      expect(() => lockWithPidFile(lockFile, inUse)()).not.toThrow();
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  });
});
