import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The events a spool folder holds that Redis has not acknowledged, read straight from the files
 * (checkpoint `<segment> <offset>`, segments `NNNNNNNNNNNN.spool` of one event per line), the way an
 * operator would read them. A last line without its newline is not an event yet.
 */
export function spooledEvents(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const checkpointFile = join(dir, "checkpoint");
  const [segment, offset] = existsSync(checkpointFile)
    ? readFileSync(checkpointFile, "utf8").trim().split(" ").map(Number)
    : [0, 0];
  const events: string[] = [];
  const segments = readdirSync(dir)
    .filter((name) => /^\d{12}\.spool$/.test(name))
    .sort();
  for (const name of segments) {
    const number = Number(name.slice(0, 12));
    if (number < (segment ?? 0)) continue;
    const bytes = readFileSync(join(dir, name));
    const from = number === segment ? (offset ?? 0) : 0;
    const lastNewline = bytes.lastIndexOf(0x0a);
    if (lastNewline < from) continue;
    events.push(...bytes.subarray(from, lastNewline).toString("utf8").split("\n"));
  }
  return events;
}
