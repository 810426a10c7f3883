import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { anchors, documents, links, ROOT, slug } from "./markdown";

describe("GitHub's heading anchors", () => {
  test.each([
    ["Quick start", "quick-start"],
    ["`/check`", "check"],
    ["Hostile input: limits, and what a client gets", "hostile-input-limits-and-what-a-client-gets"],
    ["Where the time goes, and the gap to 0.6", "where-the-time-goes-and-the-gap-to-06"],
    ["Deployment on fly.io", "deployment-on-flyio"],
    ["From `fly launch` to the first click", "from-fly-launch-to-the-first-click"],
    ["Several vCPUs: WORKERS", "several-vcpus-workers"],
    ["Report (2026-11-28)", "report-2026-11-28"],
    ["snake_case and [a link](x.md)", "snake_case-and-a-link"],
  ])("%s → #%s", (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });

  test("a repeated heading gets -1, -2 …, and a heading inside a code fence is none", () => {
    const markdown = ["# Metrics", "## Tests", "```sh", "# Tests", "```", "## Metrics", "### Metrics"].join(
      "\n",
    );
    expect([...anchors(markdown)]).toEqual(["metrics", "tests", "metrics-1", "metrics-2"]);
  });
});

describe("README.md and docs/", () => {
  const files = documents();

  test("docs/ holds the documents the README points to", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  test.each(files)("every relative link and anchor in %s resolves", (file) => {
    const markdown = readFileSync(join(ROOT, file), "utf8");
    const broken: string[] = [];
    for (const { line, target } of links(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [path = "", anchor] = target.split("#", 2);
      const resolved = path === "" ? file : normalize(join(dirname(file), decodeURI(path)));
      const where = `${file}:${line} → ${target}`;
      if (relative(ROOT, join(ROOT, resolved)).startsWith("..") || !existsSync(join(ROOT, resolved))) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith(".md")) {
        broken.push(`${where}: an anchor into a file that is not markdown`);
        continue;
      }
      if (!anchors(readFileSync(join(ROOT, resolved), "utf8")).has(anchor)) {
        broken.push(`${where}: no heading with that anchor`);
      }
    }
    expect(broken).toEqual([]);
  });
});
