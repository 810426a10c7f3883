import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sharedPostgres } from "../support/postgres";
import { migrate, runCommand, tempDir } from "../support/service";

// Each case runs the CLI as its own process (PGlite takes a few seconds to open on a busy machine).
setDefaultTimeout(120_000);

let postgresUrl: string;
beforeAll(async () => {
  postgresUrl = await (await sharedPostgres()).createDatabase();
  await migrate(postgresUrl);
});

const databases = [
  ["PGlite", () => ({ DATA_DIR: tempDir(), DATABASE_URL: "" })],
  ["PostgreSQL", () => ({ DATA_DIR: tempDir(), DATABASE_URL: postgresUrl })],
] as const;

describe.each(databases)(
  "the links CLI on %s refuses what the API refuses, with the same message",
  (_, env) => {
    test("strings the database cannot keep exactly, an id the table cannot hold: exit 2, the field named, nothing stored", async () => {
      const database = env();
      const links = (...args: string[]) => runCommand(["bun", "src/cli/links.ts", ...args], database);

      expect(await links("create", '{"id":1094932888,"campaign":"\\u0000\\ud800"}')).toMatchObject({
        code: 2,
        stderr: "campaign must not contain NUL (U+0000)\n",
      });
      expect(await links("create", '{"id":7,"network":"n\\udc00"}')).toMatchObject({
        code: 2,
        stderr: "network must not contain a lone surrogate (half of a UTF-16 pair)\n",
      });
      expect(
        await links("create", '{"id":7,"target_url":{"ios\\u0000":"https://x.example/"}}'),
      ).toMatchObject({
        code: 2,
        stderr: 'target_url has an invalid key "ios\\u0000": must not contain NUL (U+0000)\n',
      });
      expect(await links("delete", "99999999999")).toMatchObject({ code: 2, stderr: "id is too large\n" });

      const odd = "\ufffe\u0001😀".padEnd(1024, "x");
      const created = await links("create", JSON.stringify({ id: 7, campaign: odd }));
      expect(created.code).toBe(0);
      const listed = await links("list");
      expect(listed.stdout).toBe(`7\t${odd}/-/-/-\t\n`);
      expect(listed.stderr).toBe("1 link(s)\n");
    });
  },
);
