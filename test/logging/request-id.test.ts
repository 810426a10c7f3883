import { expect, test } from "bun:test";
import { requestIdOf } from "../../src/http/request-id";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const request = (headers: Record<string, string>) => new Request("http://clicks.test/", { headers });

test("fly.io's Fly-Request-Id first, then X-Request-Id", () => {
  expect(requestIdOf(request({ "fly-request-id": "01J0ABCDEF-fra", "x-request-id": "other" }))).toBe(
    "01J0ABCDEF-fra",
  );
  expect(requestIdOf(request({ "x-request-id": "lb.7f3a:1" }))).toBe("lb.7f3a:1");
});

test("without one, or with one that does not look like an id, a new UUIDv7", () => {
  const cases: Array<Record<string, string>> = [
    {},
    { "x-request-id": "" },
    { "x-request-id": "a b" },
    { "x-request-id": "x".repeat(129) },
  ];
  for (const headers of cases) {
    expect(requestIdOf(request(headers))).toMatch(UUID_V7);
  }
  expect(requestIdOf(request({}))).not.toBe(requestIdOf(request({})));
});
