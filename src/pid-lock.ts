import { readFileSync, rmSync, writeFileSync } from "node:fs";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When the process started (Linux: /proc/<pid>/stat field 22), so that a reused pid is not taken for the holder. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces, start with field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function holds(content: string): number | undefined {
  const [pidText, startTime] = content.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid === process.pid || !isRunning(pid)) return undefined;
  // After a restart the old pid may belong to some other process now: that one holds nothing.
  if (startTime && startTimeOf(pid) !== undefined && startTimeOf(pid) !== startTime) return undefined;
  return pid;
}

/**
 * Keeps a folder to one process: a pid file that a second process finds held by a live process
 * makes it stop with `inUse(holder)` as the message. A pid file left by a dead process (or by a
 * process whose pid has since been reused) is taken over. Returns the release.
 */
export function lockWithPidFile(lockFile: string, inUse: (holder: number) => string): () => void {
  const content = `${process.pid} ${startTimeOf(process.pid) ?? ""}`.trim();
  try {
    writeFileSync(lockFile, content, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = holds(readFileSync(lockFile, "utf8"));
    if (holder !== undefined) throw new Error(inUse(holder));
    writeFileSync(lockFile, content);
  }
  return () => rmSync(lockFile, { force: true });
}
