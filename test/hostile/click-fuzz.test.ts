import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import type { RunningService } from "../../src/server";
import { type ClickBackends, hostileClick, runHostileClick, startClickBackends } from "../support/hostile";
import { LogLines, startTestService } from "../support/service";

// The same generator as `bun run fuzz`, at a fixed seed and a count that keeps this file to seconds.
const SEED = 7;
const RUNS = 300;

let backends: ClickBackends;
let service: RunningService;
const logs = new LogLines();

beforeAll(async () => {
  backends = await startClickBackends();
  service = await startTestService(
    { DATABASE_URL: backends.databaseUrl, REDIS_URL_CLICKSTORE_1: backends.redis.url },
    logs,
  );
}, 30_000);

afterAll(async () => {
  await service?.stop();
  await backends?.stop();
});

test("every hostile click gets a proper answer and writes only well-formed events", async () => {
  const port = service.server.port as number;
  await fc.assert(
    fc.asyncProperty(hostileClick, async (click) => {
      const outcome = await runHostileClick(port, backends.redis, click);
      expect({ case: click.description, problems: outcome.problems }).toEqual({
        case: click.description,
        problems: [],
      });
    }),
    { seed: SEED, numRuns: RUNS },
  );
}, 60_000);

test("no hostile click was logged as an error", () => {
  expect(logs.entries().filter((entry) => (entry.level as number) >= 50)).toEqual([]);
});
