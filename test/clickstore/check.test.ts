import { describe, expect, test } from "bun:test";
import { databaseWithLink, health } from "../support/faults";
import { RedisServer } from "../support/redis";
import { click, startTestService } from "../support/service";

describe("GET /check", () => {
  test("on the embedded file clickstore: OK, and JSON without nodes or spool", async () => {
    const service = await startTestService({ DATABASE_URL: await databaseWithLink() });
    try {
      const plain = await click(service.url, "/check");
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe("OK");
      const { status, body } = await health(service.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ acceptsClicks: true, nodes: [], dropped: 0 });
      expect(body.spool).toBeUndefined();
    } finally {
      await service.stop();
    }
  }, 30_000);

  test("with Redis: each node's state and the spool depth as JSON; OK while the spool can take clicks", async () => {
    const nodes = [await RedisServer.start(), await RedisServer.start()];
    const service = await startTestService({
      DATABASE_URL: await databaseWithLink(),
      REDIS_URL_CLICKSTORE_1: nodes[0]?.url,
      REDIS_URL_CLICKSTORE_2: nodes[1]?.url,
    });
    try {
      const up = await health(service.url);
      expect(up.status).toBe(200);
      expect(up.body.nodes).toEqual(
        nodes.map((node) => ({
          name: `${node.url}`,
          breaker: "closed",
          connection: "ready",
          answersPing: true,
        })),
      );
      expect(up.body.spool).toMatchObject({ events: 0, bytes: 0, acceptsClicks: true });

      await nodes[0]?.stop();
      const oneDown = await health(service.url);
      expect(oneDown.body.nodes.map((node) => node.answersPing)).toEqual([false, true]);
      expect(oneDown.body.acceptsClicks).toBe(true);

      await nodes[1]?.stop();
      // No node answers, but the spool takes clicks: not a reason for the platform to pull the machine.
      const plain = await click(service.url, "/check");
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe("OK");
      const allDown = await health(service.url);
      expect(allDown.status).toBe(200);
      expect(allDown.body.nodes.map((node) => node.answersPing)).toEqual([false, false]);
      expect(allDown.body.spool?.acceptsClicks).toBe(true);
    } finally {
      await service.stop();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 30_000);
});
