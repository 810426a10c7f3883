import { readdirSync, readFileSync } from "node:fs";

/** What a process tree holds and has used, from /proc (Linux). */

/** Resident memory in bytes. */
export interface Memory {
  /** Peak resident set (VmHWM) summed over the processes. */
  peak: number;
  /** Resident set now (VmRSS) summed over the processes. */
  current: number;
  processes: number;
}

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** The process and its descendants: with WORKERS=N the service is a primary and N workers. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const parent = pids[i] as number;
    let children = "";
    try {
      children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/)) if (child) pids.push(Number(child));
  }
  return pids;
}

export function memoryOf(pid: number): Memory {
  const pids = processTree(pid);
  let peak = 0;
  let current = 0;
  for (const each of pids) {
    try {
      peak += statusField(each, "VmHWM");
      current += statusField(each, "VmRSS");
    } catch {
      // A process that ended between listing and reading holds no memory.
    }
  }
  return { peak, current, processes: pids.length };
}

// /proc/<pid>/stat counts CPU time in clock ticks, 100 per second on Linux.
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) used so far by the process and its descendants that still run, in seconds. */
export function cpuSecondsOf(pid: number): number {
  let ticks = 0;
  for (const each of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${each}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Ended in between: its time is no longer counted anywhere.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** The process whose command line contains this text (e.g. `redis-server 127.0.0.1:6379`). */
export function findProcess(text: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").includes(text))
        return Number(entry);
    } catch {
      // Gone already.
    }
  }
  return undefined;
}
