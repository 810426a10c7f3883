/**
 * Reads an event line the way the kafkastore does: split on whitespace into
 * ip, timestamp, topic, path and query; the user agent is the rest.
 */
export interface ParsedEvent {
  ip: string;
  timestamp: string;
  topic: string;
  path: string;
  /** Each key with its decoded value; null for a bare key. */
  params: Map<string, string | null>;
  /** The keys in the order they were written. */
  keys: string[];
  userAgent: string;
}

export function parseEvent(line: string): ParsedEvent {
  const fields: string[] = [];
  let rest = line;
  for (let i = 0; i < 5; i++) {
    const match = /^(\S+)(?:\s|$)/.exec(rest);
    if (!match) throw new Error(`event has fewer than 5 fields: ${JSON.stringify(line)}`);
    fields.push(match[1] as string);
    rest = rest.slice(match[0].length);
  }
  const [ip, timestamp, topic, path, query] = fields as [string, string, string, string, string];
  const params = new Map<string, string | null>();
  const keys: string[] = [];
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const key = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
    keys.push(key);
    params.set(key, equals === -1 ? null : decodeURIComponent(pair.slice(equals + 1)));
  }
  return { ip, timestamp, topic, path, params, keys, userAgent: rest };
}
