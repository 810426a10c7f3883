import pino from "pino";

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Values that must never appear in a line (API key, metrics token, passwords), whichever field holds them. */
  secrets?: readonly string[];
  /** Where the lines go; stdout when absent (tests pass a stream to read them). */
  destination?: pino.DestinationStream;
}

export const REDACTED = "[REDACTED]";

// Fields that hold a secret wherever they appear, at the top of a line or one level down.
const SECRET_FIELDS = ["apiSecretKey", "metricsToken", "databaseUrl", "password", "authorization"];
const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
  "headers.authorization",
  "*.headers.authorization",
];

// A secret this short would blank ordinary words out of every line; none that short is worth the name.
const MIN_SCRUBBED_LENGTH = 4;

/**
 * Replaces each secret in a finished line, in every form it can take there: as is, JSON-escaped,
 * and percent-encoded (as in a URL). Field redaction alone misses a secret inside a message,
 * such as a driver's error quoting a connection string.
 */
export function secretScrubber(secrets: readonly string[]): ((line: string) => string) | undefined {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  if (forms.size === 0) return undefined;
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (line) => {
    let scrubbed = line;
    for (const form of ordered) if (scrubbed.includes(form)) scrubbed = scrubbed.replaceAll(form, REDACTED);
    return scrubbed;
  };
}

/** JSON lines, one per event worth reading; no secret reaches them (fields redacted, values scrubbed). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const scrub = secretScrubber(options.secrets ?? []);
  const settings: pino.LoggerOptions = {
    level,
    base: { service: "clicks" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"error" reads better in `fly logs` than pino's numbers.
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
