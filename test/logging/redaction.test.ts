import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
  const scrub = secretScrubber([API_KEY, 'quo"te\\secret-value', PASSWORD, "abc"]);
  if (!scrub) throw new Error("a scrubber was expected");

  test("replaces a secret as is, JSON-escaped and percent-encoded", () => {
    expect(scrub(`{"msg":"key ${API_KEY} here"}`)).toBe(`{"msg":"key ${REDACTED} here"}`);
    expect(scrub(JSON.stringify({ msg: 'x quo"te\\secret-value y' }))).toBe(`{"msg":"x ${REDACTED} y"}`);
    expect(scrub(JSON.stringify({ msg: 'a value holding JSON: {"key":"quo\\"te\\\\secret-value"}' }))).toBe(
      JSON.stringify({ msg: `a value holding JSON: {"key":"${REDACTED}"}` }),
    );
    expect(scrub(JSON.stringify({ url: `postgres://u:${encodeURIComponent(PASSWORD)}@h/db` }))).toBe(
      JSON.stringify({ url: `postgres://u:${REDACTED}@h/db` }),
    );
  });

  test("a short secret goes where it is a URL's password, and nowhere else", () => {
    expect(scrub(JSON.stringify({ err: { message: "connect to redis://:abc@10.0.0.1:6379 failed" } }))).toBe(
      JSON.stringify({ err: { message: `connect to redis://:${REDACTED}@10.0.0.1:6379 failed` } }),
    );
    expect(scrub(JSON.stringify({ msg: "abc", user: "abc", url: "https://abc.example/abc:abc" }))).toBe(
      JSON.stringify({ msg: "abc", user: "abc", url: "https://abc.example/abc:abc" }),
    );
  });

  test("a long secret goes where it stands whole, not inside a longer word", () => {
    expect(scrub(JSON.stringify({ msg: `x${API_KEY}`, detail: `${API_KEY}9` }))).toBe(
      JSON.stringify({ msg: `x${API_KEY}`, detail: `${API_KEY}9` }),
    );
    expect(scrub(JSON.stringify({ msg: `key=${API_KEY}.` }))).toBe(
      JSON.stringify({ msg: `key=${REDACTED}.` }),
    );
  });

  test("a secret that is also a word of the lines blanks none of them: the service's name as a password", () => {
    const sample = secretScrubber(["clicks", "listening"]);
    if (!sample) throw new Error("a scrubber was expected");
    const line = `${JSON.stringify({
      level: "info",
      time: "2026-12-06T02:00:49.815Z",
      service: "clicks",
      url: "http://127.0.0.1:2343",
      clickstore: "redis: redis://127.0.0.1:6379; spool: .data/spool",
      database: "postgres://clicks:clicks@127.0.0.1:5432/clicks",
      msg: "clicks is listening",
    })}\n`;
    expect(sample(line)).toBe(line.replace("postgres://clicks:clicks@", `postgres://clicks:${REDACTED}@`));
    const untouched = `${JSON.stringify({ level: "info", service: "clicks", msg: "clicks is listening" })}\n`;
    expect(sample(untouched)).toBe(untouched);
  });

  test("a line with no secret in it is passed on as written", () => {
    const line = '{"level":"info","msg":"nothing \\u00e9 here" , "n":1}\n';
    expect(scrub(line)).toBe(line);
  });

  test("no secrets, no scrubber", () => {
    expect(secretScrubber([])).toBeUndefined();
  });
});

describe("the sample configuration", () => {
  test(".env.example's secrets are long enough to be kept out of every line, and a start line keeps its words", () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(join(import.meta.dir, "..", "..", ".env.example"), "utf8").split("\n")) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match?.[2]) env[match[1] as string] = match[2];
    }
    const secrets = secretValues(loadConfig(env));
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    for (const secret of secrets) expect(secret.length).toBeGreaterThanOrEqual(12);

    const lines = new LogLines();
    const logger = createLogger("info", { secrets, destination: lines });
    logger.info({ clickstore: "redis: redis://127.0.0.1:6379; spool: .data/spool" }, "clicks is listening");
    logger.error({ err: new Error(`cannot connect to ${env.DATABASE_URL}`) }, "links could not be loaded");
    const [start, failure] = lines.entries();
    expect(start).toMatchObject({ service: "clicks", msg: "clicks is listening" });
    expect(failure).toMatchObject({
      service: "clicks",
      msg: "links could not be loaded",
      err: { message: `cannot connect to postgres://clicks:${REDACTED}@127.0.0.1:5432/clicks` },
    });
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
