import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { DestinationServer } from "../support/destinations";
import { databaseWithLinks } from "../support/links";
import { waitFor } from "../support/ports";
import { startTestService } from "../support/service";

setDefaultTimeout(30_000);

const host = new DestinationServer();
let service: RunningService | undefined;

afterAll(async () => {
  await service?.stop();
  host.stop();
});

test("100 links on one host: at most one request a second reaches it", async () => {
  const links = Array.from({ length: 100 }, (_, i) => ({
    id: i + 1,
    targetUrl: { default: host.url(`/page/${i + 1}`) },
  }));
  const databaseUrl = await databaseWithLinks(links);
  service = await startTestService({ DATABASE_URL: databaseUrl, DESTINATION_CHECK_SECONDS: "1" });
  await waitFor("the first check", () => host.requests.length > 0 || undefined, 10_000);
  await Bun.sleep(5_000);
  const seen = host.requests.map((request) => request.atMs);
  // Unpaced, a round would send all 100 at once.
  expect(seen.length).toBeGreaterThanOrEqual(4);
  expect(seen.length).toBeLessThanOrEqual(7);
  for (let i = 1; i < seen.length; i++) {
    expect((seen[i] as number) - (seen[i - 1] as number)).toBeGreaterThanOrEqual(950);
  }
  expect(new Set(host.requests.map((request) => request.path)).size).toBe(seen.length);
});
