import { readFileSync, rmSync, writeFileSync } from "node:fs";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Keeps a folder to one process: a pid file that a second process finds held by a live process
 * makes it stop with `inUse(holder)` as the message. A pid file left by a dead process is taken over.
 * Returns the release.
 */
export function lockWithPidFile(lockFile: string, inUse: (holder: number) => string): () => void {
  try {
    writeFileSync(lockFile, String(process.pid), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = Number(readFileSync(lockFile, "utf8"));
    if (holder !== process.pid && Number.isInteger(holder) && isRunning(holder)) {
      throw new Error(inUse(holder));
    }
    writeFileSync(lockFile, String(process.pid));
  }
  return () => rmSync(lockFile, { force: true });
}
