import { expect, test } from "bun:test";
import { retryDelayMs } from "../../src/db/retry";

test("retry delays double from 100 ms to at most 2 s, each between half and all of that", () => {
  const lowest = (attempt: number) => retryDelayMs(attempt, () => 0);
  const highest = (attempt: number) => retryDelayMs(attempt, () => 1);
  expect([0, 1, 2, 3, 4, 5, 10, 60].map(highest)).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  expect([0, 1, 5, 60].map(lowest)).toEqual([50, 100, 1000, 1000]);
  expect(highest(-1)).toBe(100);
});
