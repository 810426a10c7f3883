import { join } from "node:path";
import { z } from "zod";
import { API_SIGNATURE_VALUES, type ApiSignature } from "./api/authenticate";
import type { BreakerSettings } from "./clickstore/breaker";

/**
 * How far the service believes proxy headers about the client address.
 * - `off`: only the socket's peer address counts (the default: anyone can send headers).
 * - `fly`: the `Fly-Client-IP` header that fly.io's http handler sets, on the plain HTTP listener
 *   only (fly.io passes TLS through untouched, so nothing it could add reaches the HTTPS listener).
 * - `xff`: the last address in `X-Forwarded-For`, the one our own proxy appended, on the HTTP
 *   listener and on the HTTPS listener (a proxy of our own may re-encrypt), never behind the
 *   PROXY front, where the PROXY header is the proxy's word.
 */
export const TRUST_PROXY_VALUES = ["off", "fly", "xff"] as const;
export type TrustProxy = (typeof TRUST_PROXY_VALUES)[number];

/**
 * Whether connections to HTTPS_PORT start with a PROXY protocol header (fly.io's `proxy_proto`
 * handler sends v2): then a small TCP front reads it and relays the rest to the TLS listener.
 */
export const PROXY_PROTOCOL_VALUES = ["off", "v1", "v2"] as const;
export type ProxyProtocol = (typeof PROXY_PROTOCOL_VALUES)[number];

/**
 * What an all-zero advertising id (ATT, limit ad tracking) is to attribution.
 * - `keep`: a device id like any other, as the original took it: every such click shares one
 *   lookup_key. The default, because the in-app tracker computes the install side of the key and
 *   must change together with this service.
 * - `fingerprint`: no device id: the click is matched as one without an id, on `md5(ip.platform)`.
 */
export const ZEROED_ADID_VALUES = ["keep", "fingerprint"] as const;
export type ZeroedAdid = (typeof ZEROED_ADID_VALUES)[number];

/**
 * What becomes of a click from a link-preview fetcher or crawler, or a HEAD request.
 * - `store`: an event like any click's, as the original did (the default).
 * - `skip`: the same answer, no event.
 */
export const NON_HUMAN_CLICKS_VALUES = ["store", "skip"] as const;
export type NonHumanClicks = (typeof NON_HUMAN_CLICKS_VALUES)[number];

const absoluteHttpUrl = z
  .string()
  .refine((value) => /^https?:\/\/[^\s]+$/i.test(value) && URL.canParse(value), {
    message: "must be an absolute http(s) URL",
  });

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value));

const flag = z
  .enum(["true", "false", "1", "0", ""], { message: "must be true or false" })
  .optional()
  .transform((value) => value === "true" || value === "1");

const onOff = (fallback: "on" | "off") =>
  z
    .enum(["on", "off", ""], { message: "must be on or off" })
    .optional()
    .transform((value) => (value ? value : fallback) === "on");

const portNumber = z.coerce
  .number<string | undefined>({ message: "must be a port number" })
  .int({ message: "must be a whole port number" })
  .min(1, { message: "must be between 1 and 65535" })
  .max(65535, { message: "must be between 1 and 65535" });

const port = (fallback: number) => portNumber.default(fallback);

const wholeNumber = (what: string, min: number, max: number, fallback: number) =>
  z.coerce
    .number({ message: `must be a number of ${what}` })
    .int({ message: `must be a whole number of ${what}` })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
    .default(fallback);

/** One of `values`; unset or empty: `fallback`. */
const oneOf = <T extends string>(values: readonly T[], fallback: NoInfer<T>) =>
  z.preprocess(
    (value) => (value === "" ? undefined : value),
    z.enum(values, { message: `must be one of ${values.join(", ")}` }).default(fallback),
  );

const envSchema = z.object({
  PORT: port(2343),
  HTTPS_PORT: port(8443),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: optionalText.refine((value) => value === undefined || /^postgres(ql)?:\/\//.test(value), {
    message: "must be a postgres:// URL",
  }),
  DATA_DIR: z.string().min(1).default("./.data"),
  REDIS_PUSH_TIMEOUT_MS: wholeNumber("milliseconds", 1, 60_000, 250),
  LINK_REFRESH_SECONDS: wholeNumber("seconds", 1, 86_400, 60),
  LINK_LOOKUP_TIMEOUT_MS: wholeNumber("milliseconds", 1, 10_000, 200),
  DESTINATION_CHECK_SECONDS: wholeNumber("seconds", 0, 604_800, 0),
  DEAD_DESTINATION_FALLBACK: onOff("on"),
  REDIS_BREAKER_FAILURES: wholeNumber("failures", 1, 1_000, 5),
  REDIS_BREAKER_PROBE_MS: wholeNumber("milliseconds", 10, 3_600_000, 2_000),
  REDIS_BREAKER_PROBE_MAX_MS: wholeNumber("milliseconds", 10, 3_600_000, 128_000),
  SPOOL_DIR: optionalText,
  SPOOL_MAX_BYTES: wholeNumber("bytes", 16 * 1024, Number.MAX_SAFE_INTEGER, 512 * 1024 * 1024),
  SHUTDOWN_GRACE_MS: wholeNumber("milliseconds", 100, 600_000, 10_000),
  API_SECRET_KEY: optionalText,
  ALLOW_UNSIGNED_API: flag,
  API_SIGNATURE: oneOf(API_SIGNATURE_VALUES, "legacy+v2"),
  NOT_FOUND_URL: optionalText.pipe(absoluteHttpUrl.optional()),
  ERROR_PAGE_URL: optionalText.pipe(absoluteHttpUrl.optional()),
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  PROXY_PROTOCOL: oneOf(PROXY_PROTOCOL_VALUES, "off"),
  TRUST_PROXY: oneOf(TRUST_PROXY_VALUES, "off"),
  ZEROED_ADID: oneOf(ZEROED_ADID_VALUES, "keep"),
  NON_HUMAN_CLICKS: oneOf(NON_HUMAN_CLICKS_VALUES, "store"),
  PLAY_REFERRER: onOff("on"),
  METRICS_PORT: optionalText.pipe(portNumber.optional()),
  METRICS_TOKEN: optionalText.refine((value) => value === undefined || value.length >= 16, {
    message: "must be at least 16 characters",
  }),
  WORKERS: z.coerce
    .number({ message: "must be a number of processes" })
    .int({ message: "must be a whole number of processes" })
    .min(1, { message: "must be at least 1" })
    .max(64, { message: "must be at most 64" })
    .default(1),
  LOG_LEVEL: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
      message: "must be one of trace, debug, info, warn, error, fatal, silent",
    })
    .default("info"),
});

const CLICKSTORE_VARIABLE = /^REDIS_URL_CLICKSTORE_(\d+)$/;

export interface Config {
  /** Plain HTTP; always on, also when TLS is configured (ad networks still send http:// clicks). */
  port: number;
  /** HTTPS, served only when `tls` is set. */
  httpsPort: number;
  host: string;
  /** Absent: the embedded PGlite database under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** In the order of their number; empty: events go to `<dataDir>/clicks.log`. */
  clickstores: string[];
  redisPushTimeoutMs: number;
  /** Per Redis node: consecutive failures that open its breaker, and the probe backoff. */
  breaker: BreakerSettings;
  /** Where events go when no Redis node takes them; used only with Redis clickstores. */
  spool: { dir: string; maxBytes: number };
  /** How long a SIGINT/SIGTERM shutdown may take before the process exits anyway. */
  shutdownGraceMs: number;
  /** Every link is reloaded this often, in case a change notification was missed. */
  linkRefreshSeconds: number;
  /** The longest a click for a link not in memory waits for the database. */
  linkLookupTimeoutMs: number;
  /** How often each distinct target URL is checked; 0: never (no request leaves for third parties' servers). */
  destinationCheckSeconds: number;
  /** A click whose target is dead goes to the link's default or fallback; only while checks run. */
  deadDestinationFallback: boolean;
  apiSecretKey: string | undefined;
  allowUnsignedApi: boolean;
  /**
   * Which link API signatures are accepted: `legacy+v2` (the default: the analytics tool signs the
   * original way until it moves) or `v2` only (timestamped, replay-proof).
   */
  apiSignature: ApiSignature;
  notFoundUrl: string | undefined;
  errorPageUrl: string | undefined;
  tls: { certFile: string; keyFile: string } | undefined;
  proxyProtocol: ProxyProtocol;
  trustProxy: TrustProxy;
  zeroedAdid: ZeroedAdid;
  nonHumanClicks: NonHumanClicks;
  /** PLAY_REFERRER: a Google Play listing's Location carries the click id in its install referrer. */
  playReferrer: boolean;
  /** A separate listener serving only GET /metrics, on HOST; absent: none. */
  metricsPort: number | undefined;
  /** With it, GET /metrics on the public ports answers a request bearing this token; absent: 404 there. */
  metricsToken: string | undefined;
  logLevel: string;
  /** Processes serving the same port (SO_REUSEPORT); more than one needs Postgres. */
  workers: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

type Environment = Record<string, string | undefined>;

// The start's error message goes to the log: a bad value of these is named, never shown.
const SECRET_VARIABLES = new Set(["API_SECRET_KEY", "METRICS_TOKEN", "DATABASE_URL"]);

function readClickstores(env: Environment, problems: string[]): string[] {
  const numbered: Array<[number, string]> = [];
  for (const [name, value] of Object.entries(env)) {
    const match = CLICKSTORE_VARIABLE.exec(name);
    if (!match || value === undefined || value.trim() === "") continue;
    if (!/^rediss?:\/\/[^\s]+$/.test(value) || !URL.canParse(value)) {
      problems.push(`${name}: must be a redis:// or rediss:// URL`);
      continue;
    }
    numbered.push([Number(match[1]), value]);
  }
  return numbered.sort(([a], [b]) => a - b).map(([, url]) => url);
}

/** Reads and validates the whole configuration once; throws a ConfigError naming every bad value. */
export function loadConfig(env: Environment = process.env): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  const clickstores = readClickstores(env, problems);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      const shown = SECRET_VARIABLES.has(name) ? "" : `=${JSON.stringify(env[name] ?? "")}`;
      problems.push(`${name}${shown}: ${issue.message}`);
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const values = parsed.data;
  const tlsSet = values.TLS_CERT_FILE !== undefined && values.TLS_KEY_FILE !== undefined;
  if ((values.TLS_CERT_FILE === undefined) !== (values.TLS_KEY_FILE === undefined)) {
    problems.push("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither");
  }
  if (tlsSet && values.HTTPS_PORT === values.PORT) {
    problems.push(`HTTPS_PORT=${JSON.stringify(String(values.HTTPS_PORT))}: must differ from PORT`);
  }
  if (values.PROXY_PROTOCOL !== "off" && !tlsSet) {
    problems.push(
      `PROXY_PROTOCOL=${JSON.stringify(values.PROXY_PROTOCOL)}: needs TLS_CERT_FILE and TLS_KEY_FILE (the PROXY front sits before the HTTPS listener)`,
    );
  }
  if (values.REDIS_BREAKER_PROBE_MAX_MS < values.REDIS_BREAKER_PROBE_MS) {
    problems.push("REDIS_BREAKER_PROBE_MAX_MS: must be at least REDIS_BREAKER_PROBE_MS");
  }
  if (values.WORKERS > 1 && values.DATABASE_URL === undefined) {
    problems.push(
      `WORKERS=${values.WORKERS}: more than one worker needs DATABASE_URL (the embedded PGlite database belongs to one process)`,
    );
  }
  if (values.METRICS_PORT !== undefined) {
    // One port whatever WORKERS says: with several workers the primary serves their sum there.
    const ports = `METRICS_PORT=${values.METRICS_PORT}`;
    if (values.PORT === values.METRICS_PORT) problems.push(`${ports}: must differ from PORT`);
    if (tlsSet && values.HTTPS_PORT === values.METRICS_PORT) {
      problems.push(`${ports}: must differ from HTTPS_PORT`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: values.PORT,
    httpsPort: values.HTTPS_PORT,
    host: values.HOST,
    databaseUrl: values.DATABASE_URL,
    dataDir: values.DATA_DIR,
    clickstores,
    redisPushTimeoutMs: values.REDIS_PUSH_TIMEOUT_MS,
    breaker: {
      failureThreshold: values.REDIS_BREAKER_FAILURES,
      firstProbeMs: values.REDIS_BREAKER_PROBE_MS,
      maxProbeMs: values.REDIS_BREAKER_PROBE_MAX_MS,
    },
    spool: { dir: values.SPOOL_DIR ?? join(values.DATA_DIR, "spool"), maxBytes: values.SPOOL_MAX_BYTES },
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    linkRefreshSeconds: values.LINK_REFRESH_SECONDS,
    linkLookupTimeoutMs: values.LINK_LOOKUP_TIMEOUT_MS,
    destinationCheckSeconds: values.DESTINATION_CHECK_SECONDS,
    deadDestinationFallback: values.DESTINATION_CHECK_SECONDS > 0 && values.DEAD_DESTINATION_FALLBACK,
    apiSecretKey: values.API_SECRET_KEY,
    allowUnsignedApi: values.ALLOW_UNSIGNED_API,
    apiSignature: values.API_SIGNATURE,
    notFoundUrl: values.NOT_FOUND_URL,
    errorPageUrl: values.ERROR_PAGE_URL,
    tls:
      values.TLS_CERT_FILE && values.TLS_KEY_FILE
        ? { certFile: values.TLS_CERT_FILE, keyFile: values.TLS_KEY_FILE }
        : undefined,
    proxyProtocol: values.PROXY_PROTOCOL,
    trustProxy: values.TRUST_PROXY,
    zeroedAdid: values.ZEROED_ADID,
    nonHumanClicks: values.NON_HUMAN_CLICKS,
    playReferrer: values.PLAY_REFERRER,
    metricsPort: values.METRICS_PORT,
    metricsToken: values.METRICS_TOKEN,
    logLevel: values.LOG_LEVEL,
    workers: values.WORKERS,
  };
}

/** A URL's password as written in the URL and decoded (a driver may quote either). */
function urlPasswords(url: string | undefined): string[] {
  if (url === undefined || !URL.canParse(url)) return [];
  const written = new URL(url).password;
  if (written === "") return [];
  try {
    const decoded = decodeURIComponent(written);
    return decoded === written ? [written] : [written, decoded];
  } catch {
    return [written];
  }
}

/** Every secret value in the configuration, so the logger can keep each out of every line. */
export function secretValues(config: Config): string[] {
  const secrets = [config.apiSecretKey, config.metricsToken].filter((secret) => secret !== undefined);
  return [...secrets, ...[config.databaseUrl, ...config.clickstores].flatMap(urlPasswords)];
}
