import { rmSync } from "node:fs";

// Test processes must not outlive the test run, whichever way it ends.
const children = new Set<{ kill(signal?: number | NodeJS.Signals): void }>();
const folders = new Set<string>();

export function track(child: { kill(signal?: number | NodeJS.Signals): void }): void {
  children.add(child);
}

export function untrack(child: { kill(signal?: number | NodeJS.Signals): void }): void {
  children.delete(child);
}

export function trackFolder(path: string): void {
  folders.add(path);
}

/** Kills every tracked child and removes every tracked folder. */
export function cleanUp(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
  children.clear();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders.clear();
}

// For scripts; `bun test` runs no "exit" handler, so test/support/preload.ts calls cleanUp there.
process.on("exit", cleanUp);
