import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createLink } from "../support/api";
import { deleteLink, destination, linksCli } from "../support/link-changes";
import { waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { migrate, type ServiceProcess, spawnService } from "../support/service";

// Service and PostgreSQL processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

// The bound: every instance follows a change within a second.
const PROPAGATION_MS = 1_000;
const SECRET = "propagation-secret";

let databaseUrl: string;
let a: ServiceProcess;
let b: ServiceProcess;

/** Every instance redirects link `id` to `expected` (a URL, or a status such as "404") within the bound. */
async function allFollow(id: number, expected: string): Promise<void> {
  await Promise.all(
    [a, b].map((instance) =>
      waitFor(
        `${instance.url} to answer ${expected} for link ${id}`,
        async () => (await destination(instance.url, id)) === expected || undefined,
        PROPAGATION_MS,
        10,
      ),
    ),
  );
}

beforeAll(async () => {
  databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  // A periodic reload an hour away: what reaches B within a second came as a notification.
  const env = { DATABASE_URL: databaseUrl, API_SECRET_KEY: SECRET, LINK_REFRESH_SECONDS: "3600" };
  [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
  // Listening means following: a service starts serving once its LISTEN is live and the links loaded.
  for (const instance of [a, b]) expect(instance.output()).toContain('"followingChanges":true');
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
});

describe("two instances on one database", () => {
  test("(a) create, update and delete through instance A's API reach instance B within a second", async () => {
    expect(await destination(b.url, 1)).toBe("404");
    await createLink(a.url, SECRET, { id: 1, target_url: { default: "https://example.com/v1" } });
    await allFollow(1, "https://example.com/v1");
    await createLink(a.url, SECRET, { id: 1, target_url: { default: "https://example.com/v2" } });
    await allFollow(1, "https://example.com/v2");
    await deleteLink(a.url, SECRET, 1);
    await allFollow(1, "404");
  });

  test("(b) a change written by the CLI reaches both instances", async () => {
    const link = (url: string) => JSON.stringify({ id: 2, target_url: { default: url } });
    await linksCli(databaseUrl, "create", link("https://example.com/cli-1"));
    await allFollow(2, "https://example.com/cli-1");
    await linksCli(databaseUrl, "create", link("https://example.com/cli-2"));
    await allFollow(2, "https://example.com/cli-2");
    expect(await linksCli(databaseUrl, "delete", "2")).toContain("deleted 2");
    await allFollow(2, "404");
  });
});
