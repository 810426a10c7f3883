import pino from "pino";
import type { Logger } from "../../src/logger";

/** A logger whose JSON lines the test can read. */
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => written.push(line) });
  return { logger, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
