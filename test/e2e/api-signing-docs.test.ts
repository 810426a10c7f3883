import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningService } from "../../src/server";
import { sharedPostgres } from "../support/postgres";
import { click, LogLines, migrate, runCommand, startTestService, tempDir } from "../support/service";

// PostgreSQL starts here, and bash, openssl, curl and bun run: more than 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "docs-example-secret";
const DOC = readFileSync(join(import.meta.dir, "..", "..", "docs", "api-signing.md"), "utf8");

/** The first fenced block of `language` after `heading` in docs/api-signing.md, as a reader copies it. */
function example(heading: string, language: string): string {
  const section = DOC.indexOf(`\n${heading}\n`);
  if (section < 0) throw new Error(`no section ${heading}`);
  const fence = `\`\`\`${language}\n`;
  const start = DOC.indexOf(fence, section) + fence.length;
  return DOC.slice(start, DOC.indexOf("\n```", start));
}

const logs = new LogLines();
let service: RunningService;
let env: Record<string, string>;

beforeAll(async () => {
  const database = await (await sharedPostgres()).createDatabase();
  await migrate(database);
  service = await startTestService({ DATABASE_URL: database, API_SECRET_KEY: SECRET }, logs);
  env = { CLICKS_URL: service.url, API_SECRET_KEY: SECRET };
});

afterAll(async () => {
  await service?.stop();
});

function saved(): string[] {
  return logs
    .entries()
    .filter((entry) => entry.msg === "campaign link saved" || entry.msg === "campaign link deleted")
    .map((entry) => `${entry.action} ${entry.linkId}`);
}

describe("docs/api-signing.md: the examples work as written", () => {
  test("shell: create, then the delete its comment describes", async () => {
    const script = example("### Shell (openssl and curl)", "sh");
    const created = await runCommand(["bash", "-c", script], env);
    expect(created).toMatchObject({ code: 0, stdout: '{"status":"ok"}', stderr: "" });
    const ios = { headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" } };
    expect((await click(service.url, "/click/1/go", ios)).headers.get("location")).toBe(
      "https://apps.apple.com/app/id123",
    );

    const deletion = script
      .replace("path=/api/1/create", "path=/api/1/delete")
      .replace(/^link=.*$/m, `link='{"id":1}'`);
    expect(deletion).not.toBe(script);
    expect(await runCommand(["bash", "-c", deletion], env)).toMatchObject({
      code: 0,
      stdout: '{"status":"ok"}',
    });
    expect((await click(service.url, "/click/1/go")).status).toBe(404);
    expect(saved()).toEqual(["create 1", "delete 1"]);
  });

  test("shell: with another key, the answer is the unknown route's and the log says why", async () => {
    const script = example("### Shell (openssl and curl)", "sh");
    const result = await runCommand(["bash", "-c", script], { ...env, API_SECRET_KEY: "another-key" });
    expect(result.stdout).toBe("Not Found");
    expect(logs.entries().filter((entry) => entry.msg === "link API request rejected")).toMatchObject([
      { level: "warn", reason: "bad_signature", scheme: "v2" },
    ]);
  });

  test("TypeScript: create and delete", async () => {
    const file = join(tempDir(), "sign.ts");
    writeFileSync(file, example("### TypeScript (Node 18+ or Bun)", "ts"));
    const before = saved().length;
    expect(await runCommand(["bun", file], env)).toMatchObject({
      code: 0,
      stdout: "created and deleted link 2\n",
    });
    expect(saved().slice(before)).toEqual(["create 2", "delete 2"]);
  });
});
