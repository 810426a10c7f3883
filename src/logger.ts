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

// A secret is replaced where it stands as a value, so that one that is also an ordinary word (a sample
// password such as "clicks", the service's own name) never blanks the words of a line: keys and
// pino's own fields are never touched; a URL's password is one whatever its length; elsewhere in a
// value only a secret long enough that no word of a line is one, and only where it stands whole.
const MIN_INSIDE_TEXT_LENGTH = 12;
const UNTOUCHED_FIELDS = new Set(["level", "time", "service"]);
const URL_PASSWORD = /(:\/\/[^\s:@/"]*:)([^\s@/"]+)(?=@)/g;
const WORD_CHARACTER = /[\p{L}\p{N}]/u;

/** A secret in every form it can take in a value: as is, JSON-escaped (a value holding JSON), percent-encoded (in a URL). */
function formsOf(secret: string): string[] {
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])];
}

/** `form` at `index` of `text` stands whole: not the middle of a longer word. */
function standsWhole(text: string, index: number, form: string): boolean {
  const before = text[index - 1];
  const after = text[index + form.length];
  const startsWord = WORD_CHARACTER.test(form[0] as string);
  const endsWord = WORD_CHARACTER.test(form.at(-1) as string);
  return (
    !(startsWord && before !== undefined && WORD_CHARACTER.test(before)) &&
    !(endsWord && after !== undefined && WORD_CHARACTER.test(after))
  );
}

function replaceWhole(text: string, form: string): string {
  let result = "";
  let from = 0;
  for (let index = text.indexOf(form); index !== -1; index = text.indexOf(form, index + form.length)) {
    if (!standsWhole(text, index, form)) continue;
    result += text.slice(from, index) + REDACTED;
    from = index + form.length;
  }
  return from === 0 ? text : result + text.slice(from);
}

/**
 * Keeps configured secrets out of finished log lines. Field redaction by name misses a secret in a
 * field of another name or inside a message, such as a driver's error quoting a connection string.
 * A line that holds no form of any secret is passed on as it is.
 */
export function secretScrubber(secrets: readonly string[]): ((line: string) => string) | undefined {
  const any = new Set<string>();
  const inside = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    for (const form of formsOf(secret)) {
      any.add(form);
      if (secret.length >= MIN_INSIDE_TEXT_LENGTH) inside.add(form);
    }
  }
  if (any.size === 0) return undefined;
  // Longest first, so a secret that contains another is replaced whole.
  const longestFirst = (forms: Set<string>) => [...forms].sort((a, b) => b.length - a.length);
  const insideOrdered = longestFirst(inside);
  // The forms as the line's own JSON writes them, to pass a line without secrets on untouched.
  const inLine = longestFirst(new Set([...any].map((form) => JSON.stringify(form).slice(1, -1))));

  const scrubText = (text: string): string => {
    let scrubbed = text.replace(URL_PASSWORD, (match, prefix: string, password: string) =>
      any.has(password) ? prefix + REDACTED : match,
    );
    for (const form of insideOrdered) if (scrubbed.includes(form)) scrubbed = replaceWhole(scrubbed, form);
    return scrubbed;
  };
  const scrubValue = (value: unknown): unknown => {
    if (typeof value === "string") return scrubText(value);
    if (Array.isArray(value)) return value.map(scrubValue);
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, scrubValue(field)]));
    }
    return value;
  };
  return (line) => {
    if (!inLine.some((form) => line.includes(form))) return line;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      // Not a line of ours: every form of every secret goes, wherever it is.
      let scrubbed = line;
      for (const form of inLine) scrubbed = scrubbed.replaceAll(form, REDACTED);
      return scrubbed;
    }
    const scrubbed = Object.fromEntries(
      Object.entries(entry).map(([key, value]) => [
        key,
        UNTOUCHED_FIELDS.has(key) ? value : scrubValue(value),
      ]),
    );
    const text = JSON.stringify(scrubbed);
    if (text === JSON.stringify(entry)) return line;
    return line.endsWith("\n") ? `${text}\n` : text;
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
