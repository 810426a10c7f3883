import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { parseEvent } from "../support/consumer";
import { databaseWithLinks } from "../support/links";
import { freePort, waitFor } from "../support/ports";
import { RedisServer } from "../support/redis";
import { click, startTestService } from "../support/service";
import { negotiatedVersion, TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const ca = TestCa.create();
// The certificate file holds the chain (leaf, then the CA), as fly.io secrets and certbot give it.
const pair = ca.issue("clicks-https", { chain: true });

let redis: RedisServer;
let service: RunningService;
let httpsUrl: string;

beforeAll(async () => {
  redis = await RedisServer.start();
  const databaseUrl = await databaseWithLinks([
    {
      id: 1,
      network: "network one",
      targetUrl: { ios: "https://apps.example/ios", default: "https://example.com/default" },
      attributionWindowFingerprint: 60,
      attributionWindowIdfa: 1440,
    },
  ]);
  service = await startTestService({
    DATABASE_URL: databaseUrl,
    REDIS_URL_CLICKSTORE_1: redis.url,
    TLS_CERT_FILE: pair.certFile,
    TLS_KEY_FILE: pair.keyFile,
    HTTPS_PORT: String(freePort()),
    TRUST_PROXY: "fly",
    ALLOW_UNSIGNED_API: "true",
  });
  httpsUrl = service.httpsUrl as string;
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

beforeEach(() => redis.clear());

const trusting: BunFetchRequestInit = { tls: { ca: ca.pem } };

async function onlyEvent() {
  const events = await waitFor("one event", async () => {
    const found = await redis.events();
    return found.length > 0 ? found : undefined;
  });
  expect(events).toHaveLength(1);
  return parseEvent(events[0] as string);
}

describe("HTTPS in Bun.serve", () => {
  test("serves HTTPS on HTTPS_PORT and plain HTTP on PORT at once", () => {
    expect(httpsUrl).toStartWith("https://127.0.0.1:");
    expect(service.url).toStartWith("http://127.0.0.1:");
    expect(new URL(httpsUrl).port).not.toBe(new URL(service.url).port);
  });

  test("a click over HTTPS is redirected and its event stored with the peer's address", async () => {
    const response = await click(httpsUrl, "/click/1/go?idfa=fubar&click=over-tls", {
      ...trusting,
      headers: { "user-agent": IPHONE },
    });
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("https://apps.example/ios");
    const event = await onlyEvent();
    expect(event.ip).toBe("127.0.0.1");
    expect(event.params.get("click")).toBe("over-tls");
    expect(event.params.get("adid")).toBe("FUBAR");
    expect(event.userAgent).toBe(IPHONE);
  });

  test("both listeners serve every route", async () => {
    for (const base of [service.url, httpsUrl]) {
      const check = await click(base, "/check", trusting);
      expect([check.status, await check.text()]).toEqual([200, "OK"]);
      const robots = await click(base, "/robots.txt", trusting);
      expect(await robots.text()).toBe("User-agent: *\nDisallow: /\n");
      const favicon = await click(base, "/favicon.ico", trusting);
      expect(favicon.headers.get("content-type")).toBe("image/gif");
      expect((await click(base, "/nothing-here", trusting)).status).toBe(404);
    }
    expect(await redis.events()).toEqual([]);
  });

  test("a link created over HTTPS is clicked over HTTP", async () => {
    const created = await fetch(`${httpsUrl}/api/1/create`, {
      ...trusting,
      method: "POST",
      body: new URLSearchParams({
        campaign_link: JSON.stringify({ id: 2, target_url: { default: "https://example.com/two" } }),
      }),
    });
    expect(await created.json()).toEqual({ status: "ok" });
    const response = await click(service.url, "/click/2/go");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("https://example.com/two");
    expect((await onlyEvent()).params.get("campaign_link_id")).toBe("2");
  });

  test("a client that does not trust the issuing CA gets no answer", async () => {
    await expect(click(httpsUrl, "/check")).rejects.toThrow();
  });
});

describe("TLS versions", () => {
  test("TLS 1.2 and 1.3 are served", async () => {
    const port = Number(new URL(httpsUrl).port);
    expect(await negotiatedVersion(port, "-tls1_2")).toBe("TLSv1.2");
    expect(await negotiatedVersion(port, "-tls1_3")).toBe("TLSv1.3");
  });

  test("TLS 1.1 is refused, by a client that does speak it to a server that allows it", async () => {
    // The control: the same client negotiates TLS 1.1 with an openssl server that allows it,
    // so the refusal below is the service's, not the client's.
    const controlPort = freePort();
    const control = Bun.spawn(
      [
        "openssl",
        "s_server",
        "-accept",
        `127.0.0.1:${controlPort}`,
        "-cert",
        pair.certFile,
        "-key",
        pair.keyFile,
        "-tls1_1",
        "-cipher",
        "DEFAULT@SECLEVEL=0",
        "-naccept",
        "1",
      ],
      { stdin: "pipe", stdout: "ignore", stderr: "ignore" },
    );
    try {
      const version = await waitFor("the control server", () =>
        negotiatedVersion(controlPort, "-tls1_1").then((v) => v ?? undefined),
      );
      expect(version).toBe("TLSv1.1");
    } finally {
      control.kill();
    }

    expect(await negotiatedVersion(Number(new URL(httpsUrl).port), "-tls1_1")).toBeNull();
    expect(await negotiatedVersion(Number(new URL(httpsUrl).port), "-tls1")).toBeNull();
  });
});

describe("TRUST_PROXY=fly", () => {
  test("Fly-Client-IP is believed on the HTTP listener", async () => {
    await click(service.url, "/click/1/go", { headers: { "fly-client-ip": "203.0.113.9" } });
    expect((await onlyEvent()).ip).toBe("203.0.113.9");
  });

  test("Fly-Client-IP is ignored on the HTTPS listener, where fly.io cannot have set it", async () => {
    await click(httpsUrl, "/click/1/go", { ...trusting, headers: { "fly-client-ip": "203.0.113.9" } });
    expect((await onlyEvent()).ip).toBe("127.0.0.1");
  });
});
