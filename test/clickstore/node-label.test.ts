import { expect, test } from "bun:test";
import { nodeLabel } from "../../src/clickstore/clickstore";

test("a node's metrics label is its host, port and database, never its credentials", () => {
  expect(nodeLabel("redis://10.0.0.1:6379")).toBe("10.0.0.1:6379");
  expect(nodeLabel("redis://:s3cret@10.0.0.1:6379/")).toBe("10.0.0.1:6379");
  expect(nodeLabel("rediss://user:s3cret@redis.internal:6380/2")).toBe("redis.internal:6380/2");
  expect(nodeLabel("redis://[fdaa::3]:6379")).toBe("[fdaa::3]:6379");
});
