import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

/**
 * Keeps a folder to one process with an exclusive `flock` on a lock file, held on an open file
 * descriptor for as long as the process lives. The kernel drops the lock the moment the holder's
 * descriptors close: when it exits or is killed, even while it lingers as a zombie that no parent
 * reaps, and a pid reused by another process holds nothing. (A pid file checked with kill(pid, 0)
 * is fooled by both.) The descriptor is opened close-on-exec, so no child process inherits the lock.
 */

const LOCK_EX = 2;
const LOCK_NB = 4;

interface Libc {
  flock(fd: number, operation: number): number;
  /** errno of the last failed call on this thread: read it right after the call. */
  errno(): number;
  /** flock's errno for "another descriptor holds the lock". */
  readonly wouldBlock: number;
}

interface LibcBinding {
  /** Names dlopen tries, in order. */
  readonly names: readonly string[];
  readonly errnoSymbol: string;
  readonly wouldBlock: number;
}

// glibc (Debian, the oven/bun image) is libc.so.6; musl answers to libc.so. macOS, for development.
export const LIBC: LibcBinding =
  process.platform === "darwin"
    ? { names: ["libSystem.B.dylib"], errnoSymbol: "__error", wouldBlock: 35 }
    : { names: ["libc.so.6", "libc.so"], errnoSymbol: "__errno_location", wouldBlock: 11 };

/** flock from the C library through bun:ffi; a clear error when no name of `binding` loads. */
export function loadLibc(binding: LibcBinding = LIBC): Libc {
  const failures: string[] = [];
  for (const name of binding.names) {
    try {
      const { symbols } = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [binding.errnoSymbol]: { args: [], returns: FFIType.ptr },
      });
      const errnoLocation = symbols[binding.errnoSymbol] as () => number | null;
      return {
        flock: (fd, operation) => symbols.flock(fd, operation) as number,
        errno: () => {
          const location = errnoLocation();
          return location === null ? -1 : read.i32(location, 0);
        },
        wouldBlock: binding.wouldBlock,
      };
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(
    `cannot lock files: the C library's flock could not be loaded through bun:ffi (${failures.join("; ")})`,
  );
}

let libc: Libc | undefined;

/** Who holds the lock, as its holder wrote it after taking the lock. */
function holderOf(lockFile: string): string {
  try {
    const pid = Number(readFileSync(lockFile, "utf8").trim().split(/\s/)[0]);
    if (Number.isInteger(pid) && pid > 0) return `process ${pid}`;
  } catch {}
  // Read in the moment between the holder taking the lock and writing its pid.
  return "another process";
}

/**
 * Takes the lock on `path` (created if absent) for this process, or throws `inUse(holder)`
 * when a live process holds it (`holder`: "process <pid>"). Returns the release, which is also
 * what the process's end does. The file stays: removing it would let a process that opened the
 * old file and one that creates a new one both hold "the" lock.
 */
export function takeFileLock(path: string, inUse: (holder: string) => string): () => void {
  libc ??= loadLibc();
  const fd = openSync(path, "a+");
  if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = libc.errno();
    closeSync(fd);
    if (errno === libc.wouldBlock) throw new Error(inUse(holderOf(path)));
    throw new Error(`cannot lock ${path}: flock failed with errno ${errno}`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    closeSync(fd);
  };
}
