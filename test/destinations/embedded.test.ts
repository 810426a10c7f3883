import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { DestinationServer } from "../support/destinations";
import { deleteLink } from "../support/link-changes";
import { Scrape } from "../support/metrics";
import { waitFor } from "../support/ports";
import { click, LogLines, startTestService } from "../support/service";

// A check a second, and three failures before a verdict: a few seconds per test.
setDefaultTimeout(60_000);

const SECRET = "destinations-secret";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const site = new DestinationServer();
const services: RunningService[] = [];

afterAll(async () => {
  await Promise.allSettled(services.map((service) => service.stop()));
  site.stop();
});

async function embedded(env: Record<string, string>, log: LogLines): Promise<RunningService> {
  const service = await startTestService(
    { DESTINATION_CHECK_SECONDS: "1", API_SECRET_KEY: SECRET, DATABASE_URL: "", ...env },
    log,
  );
  services.push(service);
  return service;
}

async function iphoneGoesTo(service: RunningService, id: number): Promise<string> {
  const response = await click(service.url, `/click/${id}/go`, { headers: { "user-agent": IPHONE } });
  await response.arrayBuffer();
  return response.headers.get("location") ?? String(response.status);
}

async function scrape(service: RunningService): Promise<Scrape> {
  return new Scrape(await service.metrics.render());
}

function logged(log: LogLines, msg: string): Array<Record<string, unknown>> {
  return log.entries().filter((entry) => entry.msg === msg);
}

describe("the embedded database: the one process checks", () => {
  test("a dead target is rerouted, counted, logged once; alive again, logged once", async () => {
    const app = site.url("/embedded/app");
    const landing = site.url("/embedded/landing");
    site.set("/embedded/app", { status: 404 });
    const log = new LogLines();
    const service = await embedded({}, log);
    await createLink(service.url, SECRET, {
      id: 7,
      target_url: { ios: app, android: "myapp://open", default: landing },
    });
    await waitFor(
      "rerouted",
      async () => (await iphoneGoesTo(service, 7)) === landing || undefined,
      15_000,
      50,
    );

    const before = await scrape(service);
    for (let i = 0; i < 3; i++) expect(await iphoneGoesTo(service, 7)).toBe(landing);
    const after = await scrape(service);
    expect((after.value("clicks_rerouted_total") ?? 0) - (before.value("clicks_rerouted_total") ?? 0)).toBe(
      3,
    );
    expect(
      (after.value("clicks_dead_target_total") ?? 0) - (before.value("clicks_dead_target_total") ?? 0),
    ).toBe(3);
    expect(after.value("clicks_destinations", { state: "dead" })).toBe(1);
    // The landing page, and the app scheme that is never requested but counts as alive.
    expect(after.value("clicks_destinations", { state: "alive" })).toBe(2);
    expect(after.value("clicks_destination_checks_total", { result: "failed" })).toBeGreaterThanOrEqual(3);
    expect(after.value("clicks_destination_checks_total", { result: "ok" })).toBeGreaterThanOrEqual(2);
    expect(site.requests.some((request) => request.path.startsWith("myapp"))).toBe(false);

    // More checks, more clicks: still the one line.
    await Bun.sleep(2_000);
    expect(logged(log, "destination dead")).toEqual([
      expect.objectContaining({ level: "warn", url: app, reason: "404", links: [7] }),
    ]);
    expect(logged(log, "destination checks: this machine checks")).toHaveLength(1);

    site.set("/embedded/app", { status: 200 });
    await waitFor("back", async () => (await iphoneGoesTo(service, 7)) === app || undefined, 10_000, 50);
    expect(logged(log, "destination no longer dead")).toEqual([
      expect.objectContaining({ level: "info", url: app, state: "alive", reason: "200", links: [7] }),
    ]);
    expect((await scrape(service)).value("clicks_destinations", { state: "dead" })).toBe(0);

    // A link gone: its destinations are no longer checked, nor counted.
    await deleteLink(service.url, SECRET, 7);
    await waitFor(
      "the destinations forgotten",
      async () => (await scrape(service)).value("clicks_destinations", { state: "alive" }) === 0 || undefined,
      10_000,
      50,
    );
  });

  test("DEAD_DESTINATION_FALLBACK=off: detected, counted and logged, but clicks go where they always did", async () => {
    const app = site.url("/off/app");
    site.set("/off/app", { status: 410 });
    const log = new LogLines();
    const service = await embedded({ DEAD_DESTINATION_FALLBACK: "off" }, log);
    await createLink(service.url, SECRET, {
      id: 8,
      target_url: { ios: app, default: site.url("/off/landing") },
    });
    await waitFor("the verdict", () => logged(log, "destination dead").length === 1 || undefined, 15_000, 50);
    // The verdict is in memory already when it is logged.
    expect(await iphoneGoesTo(service, 8)).toBe(app);
    const metrics = await scrape(service);
    expect(metrics.value("clicks_dead_target_total")).toBe(1);
    expect(metrics.value("clicks_rerouted_total")).toBe(0);
  });
});

describe("checking off (the default)", () => {
  test("no request leaves, no state is kept, no destination gauge", async () => {
    const log = new LogLines();
    const service = await startTestService({ API_SECRET_KEY: SECRET, DATABASE_URL: "" }, log);
    services.push(service);
    site.set("/quiet/app", { status: 404 });
    await createLink(service.url, SECRET, { id: 9, target_url: { ios: site.url("/quiet/app") } });
    await Bun.sleep(1_500);
    expect(site.requestsTo("/quiet/app")).toHaveLength(0);
    expect(await iphoneGoesTo(service, 9)).toBe(site.url("/quiet/app"));
    expect((await scrape(service)).value("clicks_destinations", { state: "dead" })).toBeUndefined();
  });
});
