import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { databaseWithLinks } from "../support/links";
import { freePort } from "../support/ports";
import { get, proxiedRequest, v2Inet } from "../support/proxy-protocol";
import { RedisServer } from "../support/redis";
import { click, startTestService } from "../support/service";
import { TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const ca = TestCa.create();
const pair = ca.issue("clicks-shutdown");

describe("a shutdown that runs out of grace cuts the HTTPS listeners too", () => {
  for (const proxyProtocol of ["off", "v2"] as const) {
    test(`PROXY_PROTOCOL=${proxyProtocol}`, async () => {
      const redis = await RedisServer.start();
      const service = await startTestService({
        DATABASE_URL: await databaseWithLinks([
          { id: 9, targetUrl: { default: "https://example.com/nine" } },
        ]),
        REDIS_URL_CLICKSTORE_1: redis.url,
        // A push that outlasts the whole grace: these clicks cannot finish in time.
        REDIS_PUSH_TIMEOUT_MS: "20000",
        SHUTDOWN_GRACE_MS: "1000",
        TLS_CERT_FILE: pair.certFile,
        TLS_KEY_FILE: pair.keyFile,
        HTTPS_PORT: String(freePort()),
        PROXY_PROTOCOL: proxyProtocol,
      });
      const httpsPort = Number(new URL(service.httpsUrl as string).port);
      try {
        redis.pause();
        const overHttps = proxiedRequest(
          httpsPort,
          proxyProtocol === "v2" ? v2Inet([198, 51, 100, 9], [10, 0, 0, 1]) : "",
          ca.pem,
          [get("/click/9/go")],
        ).then(
          (responses) => responses.map((response) => response.status),
          (error: unknown) => String(error),
        );
        const overHttp = click(service.url, "/click/9/go").then(
          (response) => response.status,
          (error: unknown) => String(error),
        );
        await Bun.sleep(300);
        // The stores' close waits on the stalled push: the listeners are what this is about.
        const stopped = service.stop();
        // Cut, not answered: no 307 for a click whose event was not stored.
        expect(await overHttps).toEqual([]);
        expect(await overHttp).not.toBe(307);
        await expect(click(service.url, "/check")).rejects.toThrow();
        await expect(proxiedRequest(httpsPort, "", ca.pem, [get("/check")])).rejects.toThrow();
        redis.resume();
        await stopped;
      } finally {
        redis.resume();
        await redis.stop();
      }
    });
  }
});
