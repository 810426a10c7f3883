import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { track, untrack } from "../support/cleanup";
import { freePort, waitFor } from "../support/ports";
import { tempDir } from "../support/service";
import { ROOT } from "./markdown";

const BLOCK_TIMEOUT_MS = 90_000;
setDefaultTimeout(BLOCK_TIMEOUT_MS + 30_000);

/** The sh block under a heading of the README, as written. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`README.md has no section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  if (block === undefined) throw new Error(`README.md has no sh block under "${heading}"`);
  return block;
}

/** A fresh clone: the files git knows (committed or not, never the ignored .data or .env), with node_modules linked. */
function freshCopy(): string {
  const listing = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
  });
  if (listing.exitCode !== 0) throw new Error(listing.stderr.toString());
  const copy = tempDir("clicks-readme-");
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

/**
 * Runs a README block with bash -e in `copy`, in a session of its own so that whatever it starts can
 * be stopped with it. The one change: another port than 2343, which a developer's own service may hold.
 * Resolves once the block and everything it started have ended.
 */
async function runBlock(copy: string, heading: string, port: number) {
  const block = readmeBlock(heading);
  expect(block).toContain("localhost:2343");
  const script = join(copy, `${heading.replaceAll(" ", "-")}.sh`);
  writeFileSync(script, block.replaceAll("localhost:2343", `localhost:${port}`));
  const child = Bun.spawn(["setsid", "bash", "-e", script], {
    cwd: copy,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? copy, PORT: String(port) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: BLOCK_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
  const group = { kill: (signal?: number | NodeJS.Signals) => process.kill(-child.pid, signal ?? "SIGKILL") };
  track(group);
  try {
    // The output ends when the last process holding it (the service) has exited.
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    await waitFor(`the processes of "${heading}" to end`, () => !groupAlive(child.pid), 15_000);
    return { code, stdout, stderr };
  } finally {
    if (groupAlive(child.pid)) group.kill("SIGKILL");
    untrack(group);
  }
}

describe("the README's blocks run as written, top to bottom, in a fresh clone", () => {
  const copy = freshCopy();
  const port = freePort();
  // The copy holds an embedded database by now: gone with this file, not left to the end of the run.
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  test("your first click: a link made before the start, a click, its event, and the service stopped", async () => {
    const { code, stdout, stderr } = await runBlock(copy, "Your first click", port);
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
    // Its last line stopped the service, gracefully.
    expect(stdout).toContain('"msg":"stopped"');
  });

  test("the link API locally: a signed create, update and delete, each followed by a click", async () => {
    const { code, stdout, stderr } = await runBlock(copy, "The link API locally", port);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const answers = stdout
      .split("\n")
      .filter((line) => !line.startsWith('{"level"') && !line.startsWith(">"));
    expect(answers.filter((line) => line !== "")).toEqual([
      '{"status":"ok"}',
      "307 https://example.com/summer",
      '{"status":"ok"}',
      "307 https://example.com/autumn",
      '{"status":"ok"}',
      "404",
    ]);
    expect(stdout).toContain('"msg":"stopped"');
  });
});
