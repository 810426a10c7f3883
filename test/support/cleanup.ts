import { rmSync } from "node:fs";

// Test processes must not outlive the test run, whichever way it ends.
type Child = { kill(signal?: number | NodeJS.Signals): void };
const children = new Map<Child, NodeJS.Signals>();
const folders = new Set<string>();

/**
 * `signal` ends the child at cleanup: SIGKILL unless the child must pass it on (runuser forwards
 * SIGTERM to the PostgreSQL it started, but SIGKILL would orphan it).
 */
export function track(child: Child, signal: NodeJS.Signals = "SIGKILL"): void {
  children.set(child, signal);
}

export function untrack(child: Child): void {
  children.delete(child);
}

export function trackFolder(path: string): void {
  folders.add(path);
}

/** Kills every tracked child and removes every tracked folder. */
export function cleanUp(): void {
  for (const [child, signal] of children) {
    try {
      child.kill(signal);
    } catch {}
  }
  children.clear();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders.clear();
}

// Scripts (bench/) end through "exit"; `bun test` (1.4.5) does not emit it: test/support/preload.ts
// calls cleanUp after the last test file instead.
process.on("exit", cleanUp);
