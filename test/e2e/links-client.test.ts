import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sendLinkApiRequest, signedLinkApiRequest } from "../../src/api/client";
import { freePort, waitFor } from "../support/ports";
import { click, runCommand, type ServiceProcess, spawnService } from "../support/service";

// A service process starts here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "client-mode-secret";

/** The links CLI as an integrator runs it; DATABASE_URL empty, so nothing but the API could change a link. */
function links(args: string[], env: Record<string, string> = {}) {
  return runCommand(["bun", "src/cli/links.ts", ...args], {
    API_SECRET_KEY: SECRET,
    DATABASE_URL: "",
    ...env,
  });
}

let service: ServiceProcess;

beforeAll(async () => {
  // The embedded database: its service holds it, so the API is the only way to change its links.
  service = await spawnService({ DATABASE_URL: "", REDIS_URL_CLICKSTORE_1: "", API_SECRET_KEY: SECRET });
});

afterAll(async () => {
  await service?.kill();
});

describe("links --api: the reference client against a running embedded service", () => {
  test("create, update and delete; the next click sees each change", async () => {
    const link = { id: 1, campaign: "cli", target_url: { default: "https://example.com/one" } };
    expect(await links(["create", "--api", service.url, JSON.stringify(link)])).toMatchObject({
      code: 0,
      stdout: "saved 1\n",
    });
    expect((await click(service.url, "/click/1/go")).headers.get("location")).toBe("https://example.com/one");

    const updated = { ...link, target_url: { default: "https://example.com/two" } };
    expect((await links(["create", `--api=${service.url}`, JSON.stringify(updated)])).code).toBe(0);
    expect((await click(service.url, "/click/1/go")).headers.get("location")).toBe("https://example.com/two");

    expect(await links(["delete", "1", "--api", service.url])).toMatchObject({
      code: 0,
      stdout: "deleted 1\n",
    });
    expect((await click(service.url, "/click/1/go")).status).toBe(404);
  });

  test("a replay is refused on the embedded database too", async () => {
    const request = signedLinkApiRequest(service.url, "create", '{"id":2}', SECRET);
    expect((await sendLinkApiRequest(request)).status).toBe(200);
    expect((await sendLinkApiRequest(request)).status).toBe(404);
    await waitFor(
      "the replay in the log",
      () => service.output().includes('"reason":"replayed"') || undefined,
    );
  });

  test("a wrong key: exit 1, the 404 explained, and the service's log says why", async () => {
    const result = await links(["delete", "--api", service.url, "2"], { API_SECRET_KEY: "not-the-key" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${service.url} answered 404: the request was rejected`);
    expect(result.stderr).toContain("API_SECRET_KEY differs");
    const logged = /"level":"warn".*"action":"delete".*"reason":"bad_signature"/;
    await waitFor("the rejection in the log", () => logged.test(service.output()) || undefined);
  });

  test("a link the service would refuse is named before anything is sent", async () => {
    const result = await links([
      "create",
      "--api",
      service.url,
      '{"id":3,"target_url":{"ios":"javascript:x"}}',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("target_url.ios ");
  });

  test("clear errors: no key, nothing listening, no list in the API, no URL", async () => {
    expect(await links(["create", "--api", service.url, '{"id":4}'], { API_SECRET_KEY: "" })).toMatchObject({
      code: 2,
      stderr: "API_SECRET_KEY is not set: --api signs each request with the service's key\n",
    });
    const nowhere = `http://127.0.0.1:${freePort()}`;
    const refused = await links(["delete", "--api", nowhere, "4"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `cannot reach ${nowhere}: connection refused (is the service running on that address and port?)\n`,
    );
    const list = await links(["list", "--api", service.url]);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("the link API has no list");
    expect((await links(["delete", "--api"])).stderr).toContain("--api needs the service's URL");
    expect((await links(["delete", "--api", "ftp://x", "4"])).stderr).toContain(
      "must be the service's http(s) URL",
    );
  });
});

describe("links usage", () => {
  test("--help prints the usage and exits 0; no command exits 2", async () => {
    const help = await links(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("npm run links -- create --api <service URL> '<link JSON>'");
    expect(help.stderr).toBe("");
    const none = await links([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toStartWith("usage:");
  });
});
