import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EVENT_KEYS } from "../../src/click/event";
import { parseEvent } from "../support/consumer";
import { waitFor } from "../support/ports";
import { click, runCommand, type ServiceProcess, spawnService, tempDir } from "../support/service";
import { childPidIn, isZombie, NON_REAPING_PARENT } from "../support/zombie";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

function links(dataDir: string, ...args: string[]) {
  return runCommand(["bun", "src/cli/links.ts", ...args], { DATA_DIR: dataDir, DATABASE_URL: "" });
}

let service: ServiceProcess | undefined;
afterAll(async () => {
  await service?.kill();
});

describe("embedded defaults: PGlite and a local event log", () => {
  test("a link made with the CLI is clicked, and the event lands in DATA_DIR/clicks.log", async () => {
    const dataDir = tempDir();
    const link = {
      id: 1,
      campaign: "walkthrough",
      target_url: { ios: "https://apps.apple.com/app/id1", default: "https://example.com" },
    };
    const created = await links(dataDir, "create", JSON.stringify(link));
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("walkthrough");
    expect(await links(dataDir, "create", '{"id":"x"}')).toMatchObject({
      code: 2,
      stderr: "id is required and must be an integer\n",
    });
    const misspelt = await links(
      dataDir,
      "create",
      JSON.stringify({ id: 2, target_url: { default: "https://example.com/?c={clickid}" } }),
    );
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toStartWith("target_url.default has an unknown macro {clickid} (macros: ");

    service = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: "", REDIS_URL_CLICKSTORE_1: "" });
    expect(service.output()).toContain(`file: ${join(dataDir, "clicks.log")}`);

    const response = await click(service.url, "/click/1/go?adid=abc", {
      headers: { "user-agent": "iPhone" },
    });
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("https://apps.apple.com/app/id1");
    const lines = await waitFor("the event in clicks.log", () => {
      const text = readFileSync(join(dataDir, "clicks.log"), "utf8");
      return text.length > 0 ? text.split("\n").filter(Boolean) : undefined;
    });
    expect(lines).toHaveLength(1);
    const event = parseEvent(lines[0] as string);
    expect(event.keys).toEqual([...EVENT_KEYS]);
    expect(event.params.get("campaign")).toBe("walkthrough");
    expect(event.userAgent).toBe("iPhone");

    const busy = await links(dataDir, "list");
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain("in use by process");

    expect(await service.kill("SIGTERM")).toBe(0);
    service = undefined;
    const listed = await links(dataDir, "list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("1\twalkthrough");
    expect((await links(dataDir, "delete", "1")).stdout).toBe("deleted 1\n");
  });

  test("the CLI's usage: asked for, on stdout with 0; after a wrong command, on stderr with 2", async () => {
    const dataDir = tempDir();
    for (const flag of ["--help", "-h", "help"]) {
      const help = await links(dataDir, flag);
      expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: "" });
      expect(help.stdout).toStartWith("usage:\n  npm run links create");
    }
    const wrong = await links(dataDir, "frobnicate");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toStartWith("usage:");
  });

  test("a service killed and left a zombie by a parent that does not reap it no longer holds the database", async () => {
    const dataDir = tempDir();
    const parent = await spawnService(
      { DATA_DIR: dataDir, DATABASE_URL: "", REDIS_URL_CLICKSTORE_1: "" },
      undefined,
      NON_REAPING_PARENT,
    );
    const pid = childPidIn(parent.output()) as number;
    try {
      const busy = await links(dataDir, "list");
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`the embedded database in ${dataDir} is in use by process ${pid}`);

      parent.process.kill("SIGSTOP");
      process.kill(pid, "SIGKILL");
      await waitFor("the killed service to be a zombie", () => isZombie(pid) || undefined);
      const listed = await links(dataDir, "list");
      expect(listed.stderr).toBe("0 link(s)\n");
      expect(listed.code).toBe(0);
      expect(isZombie(pid)).toBe(true);
    } finally {
      parent.process.kill("SIGCONT");
      await parent.process.exited;
    }
  });
});
