import { isIP } from "node:net";
import { EVENT_KEYS } from "../../src/click/event";

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

const EXPECTED_KEYS = EVENT_KEYS.join("&");

/**
 * Everything that would corrupt a record downstream, as readable problems (empty: the line is fine):
 * exactly the six fields, an integer timestamp, a query without whitespace holding exactly the
 * event keys in order with decodable values, an ip that is an address, a UA without CR or LF.
 */
export function eventProblems(line: string): string[] {
  const problems: string[] = [];
  if (/[\r\n]/.test(line)) problems.push("line holds CR or LF");
  let event: ParsedEvent;
  try {
    event = parseEvent(line);
  } catch (error) {
    return [...problems, String(error)];
  }
  if (event.ip === "" || /\s/.test(event.ip) || isIP(event.ip) === 0) {
    problems.push(`ip ${JSON.stringify(event.ip)} is not an address`);
  }
  if (!/^\d+$/.test(event.timestamp)) problems.push(`timestamp ${JSON.stringify(event.timestamp)}`);
  if (event.topic !== "clicks") problems.push(`topic ${JSON.stringify(event.topic)}`);
  if (event.path !== "/t/click") problems.push(`path ${JSON.stringify(event.path)}`);
  if (event.keys.join("&") !== EXPECTED_KEYS) problems.push(`query keys ${event.keys.join("&")}`);
  // reqparams is a query string of its own, encoded once more: it must decode a second time.
  for (const pair of (event.params.get("reqparams") ?? "").split("&")) {
    try {
      decodeURIComponent(pair);
    } catch {
      problems.push(`reqparams pair ${JSON.stringify(pair)} does not decode`);
    }
  }
  return problems;
}
