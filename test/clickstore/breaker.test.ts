import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "../../src/clickstore/breaker";

const settings = { failureThreshold: 5, firstProbeMs: 2_000, maxProbeMs: 128_000 };

function failTimes(breaker: CircuitBreaker, times: number, nowMs = 0): Array<number | undefined> {
  return Array.from({ length: times }, () => breaker.failed(nowMs));
}

describe("CircuitBreaker", () => {
  test("opens on the fifth consecutive failure, with the first probe 2 s later", () => {
    const breaker = new CircuitBreaker(settings);
    expect(failTimes(breaker, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(breaker.closed).toBe(true);
    expect(breaker.failed(1_000)).toBe(2_000);
    expect(breaker.state).toBe("open");
    expect(breaker.probeAtMs).toBe(3_000);
  });

  test("a success between failures starts the count over", () => {
    const breaker = new CircuitBreaker(settings);
    failTimes(breaker, 4);
    breaker.succeeded();
    expect(failTimes(breaker, 4).every((wait) => wait === undefined)).toBe(true);
    expect(breaker.closed).toBe(true);
  });

  test("no probe before it is due, unless there is news of the node", () => {
    const breaker = new CircuitBreaker(settings);
    failTimes(breaker, 5, 0);
    expect(breaker.startProbe(1_999)).toBe(false);
    expect(breaker.startProbe(1_999, true)).toBe(true);
    expect(breaker.state).toBe("probing");
    // One probe at a time.
    expect(breaker.startProbe(5_000, true)).toBe(false);
  });

  test("failed probes back off 2, 4, 8 … 128 s and stay at 128 s", () => {
    const breaker = new CircuitBreaker(settings);
    const waits = [failTimes(breaker, 5).at(-1)];
    let now = 0;
    for (let i = 0; i < 8; i++) {
      now = breaker.probeAtMs;
      expect(breaker.startProbe(now)).toBe(true);
      waits.push(breaker.probeFailed(now));
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 128_000, 128_000]);
  });

  test("failures of pushes sent before the breaker opened change nothing while it is open", () => {
    const breaker = new CircuitBreaker(settings);
    failTimes(breaker, 5, 0);
    expect(failTimes(breaker, 20, 10)).toEqual(Array(20).fill(undefined));
    expect(breaker.probeAtMs).toBe(2_000);
  });

  test("an answered probe closes it; the backoff resets only once a push goes through", () => {
    const breaker = new CircuitBreaker(settings);
    failTimes(breaker, 5);
    breaker.startProbe(breaker.probeAtMs);
    breaker.probeSucceeded();
    expect(breaker.closed).toBe(true);
    // The node answers PING but refuses pushes: the next opening waits longer.
    expect(failTimes(breaker, 5).at(-1)).toBe(4_000);
    breaker.startProbe(breaker.probeAtMs);
    breaker.probeSucceeded();
    breaker.succeeded();
    expect(failTimes(breaker, 5).at(-1)).toBe(2_000);
  });

  test("the settings are the caller's", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, firstProbeMs: 100, maxProbeMs: 300 });
    expect(breaker.failed(0)).toBe(100);
    breaker.startProbe(100);
    expect(breaker.probeFailed(100)).toBe(200);
    breaker.startProbe(300);
    expect(breaker.probeFailed(300)).toBe(300);
  });
});
