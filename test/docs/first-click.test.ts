import { expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { track, untrack } from "../support/cleanup";
import { freePort, waitFor } from "../support/ports";
import { tempDir } from "../support/service";
import { ROOT } from "./markdown";

const BLOCK_TIMEOUT_MS = 90_000;

/** The README's "Your first click" block, as written. */
function firstClickBlock(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /## Your first click\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no sh block under 'Your first click'");
  return block;
}

/** A fresh clone: the files git knows (committed or not, never the ignored .data or .env), with node_modules linked. */
async function freshCopy(): Promise<string> {
  const listing = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
  });
  if (listing.exitCode !== 0) throw new Error(listing.stderr.toString());
  const copy = tempDir("clicks-first-click-");
  for (const file of listing.stdout.toString().split("\0")) {
    if (file === "") continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      copyFileSync(join(ROOT, file), join(copy, file));
    } catch {
      // A file deleted from the working tree but still in the index is not in a fresh clone either.
    }
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  return copy;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

test(
  "the README's first click runs as written in a fresh clone and leaves no service running",
  async () => {
    const copy = await freshCopy();
    // The one change: another port than 2343, which a developer's own service may hold.
    const port = freePort();
    const block = firstClickBlock();
    expect(block).toContain("localhost:2343");
    writeFileSync(join(copy, "first-click.sh"), block.replaceAll("localhost:2343", `localhost:${port}`));

    // In a session of its own, so that whatever the block starts can be stopped with it.
    const child = Bun.spawn(["setsid", "bash", "-e", "first-click.sh"], {
      cwd: copy,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? copy, PORT: String(port) },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: BLOCK_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    const group = {
      kill: (signal?: number | NodeJS.Signals) => process.kill(-child.pid, signal ?? "SIGKILL"),
    };
    track(group);
    try {
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });

      // links list shows the link created before the service started.
      expect(stdout).toMatch(/^1\tspring\/-\/-\/adnet\tios=https:\/\/apps\.apple\.com\/app\/id123 /m);
      expect(stdout).toMatch(/^HTTP\/1\.1 307 /m);
      expect(stdout).toMatch(/^location: https:\/\/apps\.apple\.com\/app\/id123\r?$/im);
      const event = readFileSync(join(copy, ".data", "clicks.log"), "utf8")
        .trim()
        .split("\n")
        .at(-1);
      expect(stdout).toContain(`${event}\n`);
      expect(event).toMatch(
        /^127\.0\.0\.1 \d+ clicks \/t\/click ad&adgroup&adid=44566636-6BC5-48DE-B4AE-7DF9DF06B356&\S*&campaign=spring&campaign_link_id=1&click=abc&\S*&redirect_url=https%3A%2F%2Fapps\.apple\.com%2Fapp%2Fid123&reqparams=&user_id Mozilla\/5\.0 \(iPhone; CPU iPhone OS 17_1 like Mac OS X\)$/,
      );

      // The block's last line stopped the service, gracefully.
      await waitFor("the service to stop", () => !groupAlive(child.pid), 15_000);
      expect(stdout).toContain('"msg":"stopped"');
    } finally {
      if (groupAlive(child.pid)) group.kill("SIGKILL");
      untrack(group);
    }
  },
  BLOCK_TIMEOUT_MS + 30_000,
);
