import { describe, expect, test } from "bun:test";
import { loadConfig, secretValues } from "../../src/config";
import { createLogger, REDACTED, secretScrubber } from "../../src/logger";
import { LogLines } from "../support/service";

const API_KEY = "api-key-5f0c9e1b7a";
const TOKEN = "metrics-token-0123456789";
const PASSWORD = "pg pässword/with:odd@chars";

describe("secretValues", () => {
  test("collects the API key, the metrics token and every URL password, as written and decoded", () => {
    const config = loadConfig({
      API_SECRET_KEY: API_KEY,
      METRICS_TOKEN: TOKEN,
      DATABASE_URL: `postgres://clicks:${encodeURIComponent(PASSWORD)}@db.internal:5432/clicks`,
      REDIS_URL_CLICKSTORE_1: "redis://:redis-secret-1@10.0.0.1:6379",
      REDIS_URL_CLICKSTORE_2: "redis://10.0.0.2:6379",
    });
    expect(secretValues(config).sort()).toEqual(
      [API_KEY, TOKEN, encodeURIComponent(PASSWORD), PASSWORD, "redis-secret-1"].sort(),
    );
  });
});

describe("secretScrubber", () => {
  const scrub = secretScrubber([API_KEY, 'quo"te\\secret', PASSWORD, "abc"]);
  if (!scrub) throw new Error("a scrubber was expected");

  test("replaces a secret as is, JSON-escaped and percent-encoded", () => {
    expect(scrub(`{"msg":"key ${API_KEY} here"}`)).toBe(`{"msg":"key ${REDACTED} here"}`);
    expect(scrub(JSON.stringify({ msg: 'x quo"te\\secret y' }))).toBe(`{"msg":"x ${REDACTED} y"}`);
    expect(scrub(`postgres://u:${encodeURIComponent(PASSWORD)}@h/db`)).toBe(`postgres://u:${REDACTED}@h/db`);
  });

  test("leaves ordinary words alone: a secret shorter than 4 characters is not scrubbed", () => {
    expect(scrub('{"msg":"abc"}')).toBe('{"msg":"abc"}');
  });

  test("no secrets, no scrubber", () => {
    expect(secretScrubber([])).toBeUndefined();
  });
});

describe("createLogger", () => {
  test("redacts secret fields and scrubs secret values from every part of a line", () => {
    const lines = new LogLines();
    const logger = createLogger("debug", { secrets: [API_KEY, TOKEN], destination: lines });
    logger.info({ apiSecretKey: "whatever-it-is", config: { metricsToken: "x" } }, "fields");
    logger.info({ headers: { authorization: `Bearer ${TOKEN}` } }, "header");
    logger.error({ err: new Error(`upstream said ${API_KEY}`) }, `message with ${TOKEN}`);
    const text = lines.lines.join("");
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("whatever-it-is");
    const [fields, header, error] = lines.entries();
    expect(fields).toMatchObject({ apiSecretKey: REDACTED, config: { metricsToken: REDACTED } });
    expect(header).toMatchObject({ headers: { authorization: REDACTED } });
    expect(error).toMatchObject({
      msg: `message with ${REDACTED}`,
      err: { message: `upstream said ${REDACTED}` },
    });
  });

  test("writes one JSON object per line with a level name and an ISO time", () => {
    const lines = new LogLines();
    createLogger("info", { destination: lines }).warn({ linkId: 7 }, "something");
    expect(lines.lines).toHaveLength(1);
    expect(lines.lines[0]).toEndWith("\n");
    const [entry] = lines.entries();
    expect(entry).toMatchObject({ level: "warn", service: "clicks", linkId: 7, msg: "something" });
    expect(new Date(String(entry?.time)).toISOString()).toBe(entry?.time as string);
  });

  test("the level switch: debug lines only at LOG_LEVEL=debug", () => {
    const info = new LogLines();
    createLogger("info", { destination: info }).debug("hidden");
    const debug = new LogLines();
    createLogger("debug", { destination: debug }).debug("shown");
    expect(info.lines).toHaveLength(0);
    expect(debug.lines).toHaveLength(1);
  });
});
