import { describe, expect, test } from "bun:test";
import { detectPlatform, KNOWN_PLATFORMS } from "../../src/click/platform";
import { Metrics, renderAggregate, UNEXAMINED_PLATFORM } from "../../src/metrics/metrics";
import { Scrape } from "../support/metrics";

async function scrape(metrics: Metrics): Promise<Scrape> {
  return new Scrape(await metrics.render());
}

describe("clicks_total", () => {
  test("counts by platform and outcome", async () => {
    const metrics = new Metrics();
    metrics.countClick("ios", "redirected", performance.now());
    metrics.countClick("ios", "redirected", performance.now());
    metrics.countClick("android", "not_found", performance.now());
    metrics.countClick(UNEXAMINED_PLATFORM, "unknown_link", performance.now());
    metrics.countClick("windows", "error", performance.now());
    expect((await scrape(metrics)).nonZero("clicks_total")).toEqual({
      '{outcome="redirected",platform="ios"}': 2,
      '{outcome="not_found",platform="android"}': 1,
      '{outcome="unknown_link",platform="unexamined"}': 1,
      '{outcome="error",platform="windows"}': 1,
    });
  });

  test("the platform label is bounded: a rare OS is 'other', no OS is 'none'", async () => {
    const metrics = new Metrics();
    const rare = detectPlatform(
      "Mozilla/5.0 (BB10; Touch) AppleWebKit/537.10+ (KHTML, like Gecko) Version/10.0.9.2372",
    );
    expect(rare).not.toBe("");
    expect(KNOWN_PLATFORMS).not.toContain(rare);
    metrics.countClick(rare, "redirected", performance.now());
    metrics.countClick("an os nobody has heard of", "redirected", performance.now());
    metrics.countClick("__proto__", "redirected", performance.now());
    metrics.countClick("", "not_found", performance.now());
    expect((await scrape(metrics)).nonZero("clicks_total")).toEqual({
      '{outcome="redirected",platform="other"}': 3,
      '{outcome="not_found",platform="none"}': 1,
    });
  });

  test("the click's duration by outcome, from its start to its count", async () => {
    const metrics = new Metrics();
    metrics.countClick("ios", "redirected", performance.now() - 3);
    const result = await scrape(metrics);
    const bucket = (le: string) =>
      result.value("clicks_click_duration_seconds_bucket", { outcome: "redirected", le });
    expect([bucket("0.0025"), bucket("0.005"), bucket("+Inf")]).toEqual([0, 1, 1]);
    expect(result.value("clicks_click_duration_seconds_count", { outcome: "error" })).toBe(0);
    expect(
      result.value("clicks_click_duration_seconds_sum", { outcome: "redirected" }),
    ).toBeGreaterThanOrEqual(0.003);
  });

  test("failed requests by reason, both series from the start", async () => {
    const metrics = new Metrics();
    expect((await scrape(metrics)).value("clicks_failed_requests_total", { reason: "not_ready" })).toBe(0);
    metrics.countFailedRequest("error");
    const result = await scrape(metrics);
    expect(result.value("clicks_failed_requests_total", { reason: "error" })).toBe(1);
    expect(result.value("clicks_failed_requests_total", { reason: "not_ready" })).toBe(0);
  });

  test("every platform and outcome series exists from the start, at 0", async () => {
    const result = await scrape(new Metrics());
    for (const platform of [...KNOWN_PLATFORMS, "none", "other", UNEXAMINED_PLATFORM]) {
      for (const outcome of ["redirected", "not_found", "unknown_link", "error"]) {
        expect(result.value("clicks_total", { platform, outcome })).toBe(0);
      }
    }
  });
});

describe("clicks_zeroed_adid_total", () => {
  test("counts by platform, bounded as clicks_total is", async () => {
    const metrics = new Metrics();
    metrics.countZeroedAdid("ios");
    metrics.countZeroedAdid("ios");
    metrics.countZeroedAdid("android");
    metrics.countZeroedAdid("");
    metrics.countZeroedAdid("an os nobody has heard of");
    metrics.countZeroedAdid("__proto__");
    expect((await scrape(metrics)).nonZero("clicks_zeroed_adid_total")).toEqual({
      '{platform="ios"}': 2,
      '{platform="android"}': 1,
      '{platform="none"}': 1,
      '{platform="other"}': 2,
    });
  });

  test("every platform series exists from the start, at 0", async () => {
    const result = await scrape(new Metrics());
    for (const platform of [...KNOWN_PLATFORMS, "none", "other"]) {
      expect(result.value("clicks_zeroed_adid_total", { platform })).toBe(0);
    }
    expect(result.value("clicks_zeroed_adid_total", { platform: UNEXAMINED_PLATFORM })).toBeUndefined();
  });
});

describe("clicks_non_human_total", () => {
  test("counts by reason, both series there from the start", async () => {
    const metrics = new Metrics();
    expect((await scrape(metrics)).value("clicks_non_human_total", { reason: "head" })).toBe(0);
    expect((await scrape(metrics)).value("clicks_non_human_total", { reason: "crawler" })).toBe(0);
    metrics.countNonHuman("crawler");
    metrics.countNonHuman("crawler");
    metrics.countNonHuman("head");
    expect((await scrape(metrics)).nonZero("clicks_non_human_total")).toEqual({
      '{reason="crawler"}': 2,
      '{reason="head"}': 1,
    });
  });
});

describe("clickstore nodes", () => {
  test("pushes by node and result, with their latency", async () => {
    const metrics = new Metrics();
    const first = metrics.clickstoreNode("10.0.0.1:6379");
    const second = metrics.clickstoreNode("10.0.0.2:6379");
    const started = performance.now();
    first.recordPush("ok", started);
    first.recordPush("ok", started);
    first.recordPush("timeout", started - 300);
    second.recordPush("error", started);
    const result = await scrape(metrics);
    expect(result.nonZero("clicks_clickstore_pushes_total")).toEqual({
      '{node="10.0.0.1:6379",result="ok"}': 2,
      '{node="10.0.0.1:6379",result="timeout"}': 1,
      '{node="10.0.0.2:6379",result="error"}': 1,
    });
    expect(result.value("clicks_clickstore_push_duration_seconds_count", { node: "10.0.0.1:6379" })).toBe(3);
    expect(result.value("clicks_clickstore_push_duration_seconds_count", { node: "10.0.0.2:6379" })).toBe(1);
    // The timed-out push took 300 ms or more: above the 0.25 s bound, within 0.5 s.
    expect(
      result.value("clicks_clickstore_push_duration_seconds_bucket", { node: "10.0.0.1:6379", le: "0.25" }),
    ).toBe(2);
    expect(
      result.value("clicks_clickstore_push_duration_seconds_sum", { node: "10.0.0.1:6379" }),
    ).toBeGreaterThan(0.3);
  });

  test("connection state is read at scrape time", async () => {
    const metrics = new Metrics();
    let up = true;
    metrics.clickstoreNode("a:6379").watchConnection(() => up);
    expect((await scrape(metrics)).value("clicks_clickstore_connected", { node: "a:6379" })).toBe(1);
    up = false;
    expect((await scrape(metrics)).value("clicks_clickstore_connected", { node: "a:6379" })).toBe(0);
  });

  test("circuit state: 1 for the current state, 0 for the others", async () => {
    const metrics = new Metrics();
    const node = metrics.clickstoreNode("a:6379");
    node.setCircuit("open");
    node.setCircuit("probing");
    expect((await scrape(metrics)).nonZero("clicks_clickstore_circuit_state")).toEqual({
      '{node="a:6379",state="probing"}': 1,
    });
    expect(
      (await scrape(metrics)).value("clicks_clickstore_circuit_state", { node: "a:6379", state: "open" }),
    ).toBe(0);
  });
});

describe("link cache, spool, API, invalid idfa", () => {
  test("link cache size and lookups are read from the cache at scrape time", async () => {
    const metrics = new Metrics();
    const cache = {
      size: 3,
      stats: { hits: 5, misses: 2, knownMissing: 1, unasked: 4 },
      followsEveryChange: false,
      loadedAtMs: 1_767_225_600_500,
    };
    metrics.watchLinkCache(cache);
    cache.stats.hits++;
    cache.followsEveryChange = true;
    const result = await scrape(metrics);
    expect(result.value("clicks_link_cache_links")).toBe(3);
    expect(result.value("clicks_link_changes_followed")).toBe(1);
    expect(result.value("clicks_links_loaded_timestamp_seconds")).toBe(1_767_225_600.5);
    expect(result.nonZero("clicks_link_cache_lookups_total")).toEqual({
      '{result="hit"}': 6,
      '{result="miss"}': 2,
      '{result="known_missing"}': 1,
      '{result="unasked"}': 4,
    });
  });

  test("spool depth and bytes are read from the spool at scrape time", async () => {
    const metrics = new Metrics();
    const spool = { pendingEvents: 0, bytes: 0 };
    metrics.watchSpool(spool);
    spool.pendingEvents = 12;
    spool.bytes = 3456;
    const result = await scrape(metrics);
    expect(result.value("clicks_spool_events")).toBe(12);
    expect(result.value("clicks_spool_bytes")).toBe(3456);
  });

  test("dropped clicks and readiness are read at scrape time", async () => {
    const metrics = new Metrics();
    let dropped = 0;
    let ready = false;
    metrics.watchDroppedClicks(() => dropped);
    metrics.watchReadiness(async () => ready);
    let result = await scrape(metrics);
    expect(result.value("clicks_dropped_total")).toBe(0);
    expect(result.value("clicks_ready")).toBe(0);
    dropped = 2;
    ready = true;
    result = await scrape(metrics);
    expect(result.value("clicks_dropped_total")).toBe(2);
    expect(result.value("clicks_ready")).toBe(1);
  });

  test("API requests by action and result, every series present from the start", async () => {
    const metrics = new Metrics();
    expect(
      (await scrape(metrics)).value("clicks_api_requests_total", { action: "delete", result: "error" }),
    ).toBe(0);
    metrics.countApiRequest("create", "ok");
    metrics.countApiRequest("delete", "rejected");
    expect((await scrape(metrics)).nonZero("clicks_api_requests_total")).toEqual({
      '{action="create",result="ok"}': 1,
      '{action="delete",result="rejected"}': 1,
    });
  });

  test("invalid idfa count", async () => {
    const metrics = new Metrics();
    metrics.countInvalidIdfa();
    metrics.countInvalidIdfa();
    expect((await scrape(metrics)).value("clicks_invalid_idfa_total")).toBe(2);
  });
});

describe("the registry", () => {
  test("has the process metrics, working under Bun", async () => {
    const result = await scrape(new Metrics());
    expect(result.value("process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(result.value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(result.value("process_start_time_seconds")).toBeGreaterThan(1_600_000_000);
    expect(result.value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(result.value("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
  });

  test("two services in one process keep their counts apart", async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.countClick("ios", "redirected", performance.now());
    expect((await scrape(one)).value("clicks_total", { platform: "ios", outcome: "redirected" })).toBe(1);
    expect((await scrape(two)).value("clicks_total", { platform: "ios", outcome: "redirected" })).toBe(0);
  });

  test("answers in the Prometheus text format", () => {
    expect(new Metrics().contentType).toStartWith("text/plain; version=0.0.4");
  });
});

describe("WORKERS=N: the sum the primary serves (renderAggregate over each worker's json())", () => {
  /** A worker's metrics after some clicks and pushes; `up` says whether it is connected, following, ready. */
  function worker(clicks: number, up: boolean, loadedAtMs: number) {
    const metrics = new Metrics();
    const started = performance.now();
    for (let n = 0; n < clicks; n++) metrics.countClick("ios", "redirected", started);
    const node = metrics.clickstoreNode("a:6379");
    for (let n = 0; n < clicks; n++) node.recordPush("ok", started);
    node.watchConnection(() => up);
    node.setCircuit(up ? "closed" : "open");
    metrics.watchLinkCache({
      size: 7,
      stats: { hits: clicks, misses: 0, knownMissing: 0, unasked: 0 },
      followsEveryChange: up,
      loadedAtMs,
    });
    metrics.watchReadiness(async () => up);
    metrics.countApiRequest("create", "ok");
    return metrics;
  }

  test("counters and histograms add up; gauges keep their meaning for the machine", async () => {
    const workers = [worker(3, true, 2_000_000), worker(5, false, 1_000_000)];
    const sum = new Scrape(await renderAggregate(await Promise.all(workers.map((each) => each.json()))));
    expect(sum.nonZero("clicks_total")).toEqual({ '{outcome="redirected",platform="ios"}': 8 });
    expect(sum.value("clicks_click_duration_seconds_count", { outcome: "redirected" })).toBe(8);
    expect(sum.nonZero("clicks_clickstore_pushes_total")).toEqual({ '{node="a:6379",result="ok"}': 8 });
    expect(sum.value("clicks_clickstore_push_duration_seconds_count", { node: "a:6379" })).toBe(8);
    expect(sum.value("clicks_clickstore_push_duration_seconds_bucket", { node: "a:6379", le: "+Inf" })).toBe(
      8,
    );
    expect(sum.value("clicks_link_cache_lookups_total", { result: "hit" })).toBe(8);
    expect(sum.value("clicks_api_requests_total", { action: "create", result: "ok" })).toBe(2);
    // Every worker holds the same 7 links. The node is not connected from every worker, not every
    // worker follows changes or is ready, and the oldest load counts. Each state some worker's
    // breaker is in shows 1.
    expect(sum.value("clicks_link_cache_links")).toBe(7);
    expect(sum.value("clicks_clickstore_connected", { node: "a:6379" })).toBe(0);
    expect(sum.value("clicks_link_changes_followed")).toBe(0);
    expect(sum.value("clicks_ready")).toBe(0);
    expect(sum.value("clicks_links_loaded_timestamp_seconds")).toBe(1_000);
    expect(sum.nonZero("clicks_clickstore_circuit_state")).toEqual({
      '{node="a:6379",state="closed"}': 1,
      '{node="a:6379",state="open"}': 1,
    });
    expect(sum.types.get("clicks_clickstore_push_duration_seconds")).toBe("histogram");
    expect(sum.types.get("clicks_click_duration_seconds")).toBe("histogram");
  });

  test("over one worker, the service's own series come out as that worker renders them", async () => {
    const one = worker(4, true, 2_000_000);
    const own = await scrape(one);
    const summed = new Scrape(await renderAggregate([await one.json()]));
    for (const name of [
      "clicks_total",
      "clicks_click_duration_seconds_bucket",
      "clicks_click_duration_seconds_count",
      "clicks_clickstore_pushes_total",
      "clicks_clickstore_push_duration_seconds_bucket",
      "clicks_clickstore_push_duration_seconds_count",
      "clicks_clickstore_connected",
      "clicks_clickstore_circuit_state",
      "clicks_link_cache_links",
      "clicks_link_changes_followed",
      "clicks_links_loaded_timestamp_seconds",
      "clicks_link_cache_lookups_total",
      "clicks_api_requests_total",
      "clicks_ready",
    ]) {
      expect(summed.nonZero(name)).toEqual(own.nonZero(name));
    }
  });
});
