/** Makes sure the programs the benchmark runs are on the machine, installing Debian's packages where missing. */

export interface Tool {
  command: string;
  /** The Debian package that brings it. */
  aptPackage: string;
  /** Other places it may live when it is not on PATH. */
  alsoAt?: () => string | undefined;
}

function found(tool: Tool): boolean {
  return Bun.which(tool.command) !== null || tool.alsoAt?.() !== undefined;
}

function run(command: string[]): void {
  const result = Bun.spawnSync(command, {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.exitCode !== 0) {
    throw new Error(`${command.join(" ")} failed (${result.exitCode}): ${result.stderr.toString().trim()}`);
  }
}

export function ensureTools(tools: Tool[], log: (line: string) => void): void {
  const missing = tools.filter((tool) => !found(tool));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.aptPackage))];
  log(`installing ${packages.join(" ")} from Debian's packages`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  run([...sudo, "apt-get", "update", "-qq"]);
  run([...sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...packages]);
  const still = missing.filter((tool) => !found(tool));
  if (still.length > 0)
    throw new Error(`still missing after install: ${still.map((t) => t.command).join(", ")}`);
}
