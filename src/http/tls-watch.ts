import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../logger";

// Renewal tools write the certificate and the key one after the other: wait for both.
const SETTLE_MS = 500;

/**
 * Calls `changed` once things settle after anything changes in the folders of the given files.
 * Folders, not files: renewal tools (certbot, Kubernetes secrets) swap files by renaming or
 * re-pointing a symlink, which a watch on the old file would not see. Returns a function that stops watching.
 */
export function watchFiles(paths: string[], changed: () => void, logger: Logger): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(changed, SETTLE_MS);
  };
  const watchers: FSWatcher[] = [];
  for (const folder of new Set(paths.map((path) => dirname(path)))) {
    try {
      const watcher = watch(folder, { persistent: false }, settle);
      watcher.on("error", (error) => logger.warn({ err: error, folder }, "stopped watching TLS files"));
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ err: error, folder }, "cannot watch TLS files: renew with SIGHUP");
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
