import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { CellCounter, CellHistogram } from "../../src/metrics/cells";
import { Scrape } from "../support/metrics";

describe("CellCounter", () => {
  test("exports each bound cell's total as a counter sample", async () => {
    const registry = new Registry();
    const counter = new CellCounter(registry, "things_total", "Things.", ["kind"]);
    const red = counter.cell({ kind: "red" });
    const blue = counter.cell({ kind: "blue" });
    red.value++;
    red.value++;
    blue.value++;
    const scrape = new Scrape(await registry.metrics());
    expect(scrape.types.get("things_total")).toBe("counter");
    expect(scrape.value("things_total", { kind: "red" })).toBe(2);
    expect(scrape.value("things_total", { kind: "blue" })).toBe(1);
  });

  test("a second scrape shows the totals, not the sum of both scrapes", async () => {
    const registry = new Registry();
    const cell = new CellCounter(registry, "things_total", "Things.", []).cell({});
    cell.value += 3;
    await registry.metrics();
    cell.value++;
    expect(new Scrape(await registry.metrics()).value("things_total")).toBe(4);
  });

  test("a cell never incremented is exported as 0", async () => {
    const registry = new Registry();
    new CellCounter(registry, "things_total", "Things.", ["kind"]).cell({ kind: "none" });
    expect(new Scrape(await registry.metrics()).value("things_total", { kind: "none" })).toBe(0);
  });
});

describe("CellHistogram", () => {
  const bounds = [0.001, 0.01, 0.1];

  test("counts are cumulative, an upper bound is inclusive, +Inf holds everything", () => {
    const histogram = new CellHistogram("wait_seconds", "Waits.", "node", bounds);
    const cell = histogram.cell("a");
    for (const value of [0.0005, 0.001, 0.005, 0.1, 2]) histogram.observe(cell, value);
    const scrape = new Scrape(histogram.render());
    expect(scrape.types.get("wait_seconds")).toBe("histogram");
    expect(scrape.value("wait_seconds_bucket", { node: "a", le: "0.001" })).toBe(2);
    expect(scrape.value("wait_seconds_bucket", { node: "a", le: "0.01" })).toBe(3);
    expect(scrape.value("wait_seconds_bucket", { node: "a", le: "0.1" })).toBe(4);
    expect(scrape.value("wait_seconds_bucket", { node: "a", le: "+Inf" })).toBe(5);
    expect(scrape.value("wait_seconds_count", { node: "a" })).toBe(5);
    expect(scrape.value("wait_seconds_sum", { node: "a" })).toBeCloseTo(2.1065, 10);
  });

  test("series are kept apart and label values are escaped", () => {
    const histogram = new CellHistogram("wait_seconds", "Waits.", "node", bounds);
    const odd = 'a"b\\c\nd';
    histogram.observe(histogram.cell(odd), 0.05);
    histogram.cell("idle");
    const scrape = new Scrape(histogram.render());
    expect(scrape.value("wait_seconds_count", { node: odd })).toBe(1);
    expect(scrape.value("wait_seconds_bucket", { node: odd, le: "0.01" })).toBe(0);
    expect(scrape.value("wait_seconds_count", { node: "idle" })).toBe(0);
  });

  test("renders nothing before it has a series", () => {
    expect(new CellHistogram("wait_seconds", "Waits.", "node", bounds).render()).toBe("");
  });
});
