import { readFileSync } from "node:fs";

/** Resident memory of a process tree, from /proc (Linux), in bytes. */
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
