import pino from "pino";

export type Logger = pino.Logger;

/** JSON lines on stdout; secrets never reach it (the config is logged through `describeConfig`). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "clicks" } });
}
