import { readdirSync, readFileSync } from "node:fs";

/**
 * A parent that reaps its child only while it runs: prefix a command with NON_REAPING_PARENT,
 * SIGSTOP the parent, SIGKILL the child, and the child stays a zombie, as under an init process
 * that does not reap orphans (a container without an init, some micro-VM inits). SIGCONT the
 * parent and it reaps the child and exits. (A parent that ignores SIGCHLD would not do: the kernel
 * then reaps its children itself.)
 */
export const NON_REAPING_PARENT = ["sh", "-c", '"$@" & echo "child pid $!"; wait', "sh"];

/** The child's pid, from what the parent printed. */
export function childPidIn(output: string): number | undefined {
  const match = /child pid (\d+)/.exec(output);
  return match ? Number(match[1]) : undefined;
}

/** The process's state letter from /proc/<pid>/stat (R, S, T, Z, …); undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name, in parentheses, may contain spaces: the state follows its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * Dead but not reaped: state Z, and every thread gone. (The main thread of a killed process shows Z
 * while its other threads are still exiting; its files, and locks, are closed once the last one is.)
 */
export function isZombie(pid: number): boolean {
  try {
    return processState(pid) === "Z" && readdirSync(`/proc/${pid}/task`).length === 1;
  } catch {
    return false;
  }
}
