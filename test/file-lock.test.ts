import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LIBC, loadLibc, takeFileLock } from "../src/file-lock";
import { track, untrack } from "./support/cleanup";
import { waitFor } from "./support/ports";
import { tempDir } from "./support/service";
import { childPidIn, isZombie, NON_REAPING_PARENT, processState } from "./support/zombie";

const inUse = (holder: string) => `in use by ${holder}`;

/**
 * A process that takes the lock and holds it, started under a parent that does not reap it while
 * stopped. It starts a long-lived child of its own after taking the lock (as WORKERS does).
 */
async function startHolder(lockFile: string) {
  const script = `import { takeFileLock } from ${JSON.stringify(join(import.meta.dir, "..", "src", "file-lock.ts"))};
    takeFileLock(${JSON.stringify(lockFile)}, () => "");
    const child = Bun.spawn(["sleep", "60"]);
    console.log("locked; its child " + child.pid);
    await Bun.sleep(60_000);`;
  const parent = Bun.spawn([...NON_REAPING_PARENT, "bun", "-e", script], {
    stdout: "pipe",
    stderr: "inherit",
  });
  track(parent);
  let output = "";
  void (async () => {
    for await (const chunk of parent.stdout) output += new TextDecoder().decode(chunk);
  })();
  const [pid, childPid] = await waitFor("the holder's lock", () => {
    const ids = [childPidIn(output), Number(/its child (\d+)/.exec(output)?.[1])];
    return ids.every((id) => Number.isInteger(id)) ? (ids as [number, number]) : undefined;
  });
  return {
    pid,
    parent,
    /** Ends everything this holder left running. */
    async end() {
      for (const id of [pid, childPid]) {
        try {
          process.kill(id, "SIGKILL");
        } catch {}
      }
      parent.kill("SIGCONT");
      await parent.exited;
      untrack(parent);
    },
  };
}

describe("takeFileLock", () => {
  test("a live process holds the lock: a second one is refused with a message naming it", async () => {
    const lockFile = join(tempDir(), "lock");
    const holder = await startHolder(lockFile);
    try {
      expect(readFileSync(lockFile, "utf8")).toBe(`${holder.pid}\n`);
      expect(() => takeFileLock(lockFile, inUse)).toThrow(`in use by process ${holder.pid}`);
    } finally {
      await holder.end();
    }
  });

  test("a holder killed but never reaped (a zombie) holds nothing, nor does the child it left running", async () => {
    const lockFile = join(tempDir(), "lock");
    const holder = await startHolder(lockFile);
    try {
      holder.parent.kill("SIGSTOP");
      process.kill(holder.pid, "SIGKILL");
      await waitFor("the holder to be a zombie", () => isZombie(holder.pid) || undefined);
      // What fooled the pid file: the zombie's pid still answers kill(pid, 0).
      expect(process.kill(holder.pid, 0)).toBe(true);

      const release = takeFileLock(lockFile, inUse);
      expect(readFileSync(lockFile, "utf8")).toBe(`${process.pid}\n`);
      expect(processState(holder.pid)).toBe("Z");
      release();
    } finally {
      await holder.end();
    }
  });

  test("a lock file naming a live process that holds no lock (a reused pid, say) is taken", async () => {
    const lockFile = join(tempDir(), "lock");
    const other = Bun.spawn(["sleep", "30"]);
    track(other);
    try {
      writeFileSync(lockFile, `${other.pid} 1\n`);
      const release = takeFileLock(lockFile, inUse);
      expect(readFileSync(lockFile, "utf8")).toBe(`${process.pid}\n`);
      release();
    } finally {
      other.kill("SIGKILL");
      await other.exited;
      untrack(other);
    }
  });

  test("within one process: a second take is refused while the first holds it, and succeeds after its release", () => {
    const lockFile = join(tempDir(), "lock");
    const release = takeFileLock(lockFile, inUse);
    expect(() => takeFileLock(lockFile, inUse)).toThrow(`in use by process ${process.pid}`);
    release();
    release();
    takeFileLock(lockFile, inUse)();
  });

  test("the C library is found where Debian's glibc is; a C library that cannot be loaded is a clear error", () => {
    expect(() => loadLibc()).not.toThrow();
    expect(() => loadLibc({ ...LIBC, names: ["libno-such-libc.so.9"] })).toThrow(
      /^cannot lock files: the C library's flock could not be loaded through bun:ffi \(libno-such-libc\.so\.9: /,
    );
  });
});
