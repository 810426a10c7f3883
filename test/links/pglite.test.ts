import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { type Database, openPglite } from "../../src/db/database";
import { LinkCache } from "../../src/links/cache";
import { createLinkRepository, type LinkRepository } from "../../src/links/repository";
import { LinkSync } from "../../src/links/sync";
import { createLogger } from "../../src/logger";
import { waitFor } from "../support/ports";
import { click, startTestService, tempDir } from "../support/service";

// Service and PostgreSQL processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

// The embedded default: one process, so the notifications it hears are its own.
let database: Database;
let repository: LinkRepository;
let links: LinkCache;
let sync: LinkSync;

beforeAll(async () => {
  database = await openPglite(tempDir());
  await database.migrate();
  repository = createLinkRepository(database.db);
  links = new LinkCache(repository);
  // No periodic reload during the test: a change can only arrive as a notification.
  sync = new LinkSync({ links, database, refreshIntervalMs: 3_600_000, logger: createLogger("silent") });
  // Resolves once the links are loaded and the LISTEN is live.
  await sync.start();
}, 30_000);

afterAll(async () => {
  await sync.stop();
  await database.close();
});

test("PGlite: a write through the repository reaches the cache as a notification", async () => {
  await repository.upsert({ id: 11, targetUrl: { default: "https://example.com/first" } });
  await waitFor("the new link", () => links.get(11) || undefined);
  await repository.upsert({ id: 11, targetUrl: { default: "https://example.com/second" } });
  await waitFor(
    "the update",
    () => links.get(11)?.targetUrl.default === "https://example.com/second" || undefined,
  );
  await repository.remove(11);
  await waitFor("the deletion", () => links.get(11) === undefined || undefined);
});

test("PGlite service: a link created through the API redirects at once and is gone once deleted", async () => {
  const service = await startTestService({ ALLOW_UNSIGNED_API: "true" });
  try {
    const post = (action: string, json: unknown) =>
      fetch(`${service.url}/api/v1/${action}`, {
        method: "POST",
        body: new URLSearchParams({ campaign_link: JSON.stringify(json) }),
      });
    expect((await fetch(`${service.url}/check`)).status).toBe(200);
    expect((await post("create", { id: 5, target_url: { default: "https://example.com/5" } })).status).toBe(
      200,
    );
    const redirect = await click(service.url, "/click/5/go");
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("location")).toBe("https://example.com/5");
    expect((await post("delete", { id: 5 })).status).toBe(200);
    expect((await click(service.url, "/click/5/go")).status).toBe(404);
  } finally {
    await service.stop();
  }
});
