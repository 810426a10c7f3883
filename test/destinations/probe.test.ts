import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { HostPacer } from "../../src/destinations/pacer";
import {
  type CheckResult,
  checkDestination,
  classifyStatus,
  userAgentFor,
} from "../../src/destinations/probe";
import { DestinationServer } from "../support/destinations";
import { freePort } from "../support/ports";
import { TestCa } from "../support/tls";

// No pacing between the requests of these tests (the pacer has its own tests): each test is quick.
const unpaced = () => ({ pacer: new HostPacer(0) });
const site = new DestinationServer();
const ca = TestCa.create();
const servers: DestinationServer[] = [site];

function httpsSite(hosts?: string[]): DestinationServer {
  const pair = ca.issue(`site-${servers.length}`, hosts ? { hosts } : {});
  const server = new DestinationServer({
    cert: readFileSync(pair.certFile, "utf8"),
    key: readFileSync(pair.keyFile, "utf8"),
  });
  servers.push(server);
  return server;
}

afterAll(() => {
  for (const server of servers) server.stop();
});

function check(url: string, platform = "default", options = {}): Promise<CheckResult> {
  return checkDestination(url, platform, { ...unpaced(), ...options });
}

describe("classifyStatus", () => {
  test.each([
    [200, "ok"],
    [204, "ok"],
    [404, "failed"],
    [410, "failed"],
    [403, "inconclusive"],
    [429, "inconclusive"],
    [500, "inconclusive"],
    [503, "inconclusive"],
    [304, "inconclusive"],
  ])("%d is %s", (status, outcome) => {
    expect(classifyStatus(status)).toEqual({
      outcome: outcome as CheckResult["outcome"],
      reason: String(status),
    });
  });
});

describe("a check against a destination on loopback", () => {
  test("200 is ok, 404 and 410 are failures, 503 and 429 inconclusive", async () => {
    site.set("/gone", { status: 410 });
    site.set("/missing", { status: 404 });
    site.set("/busy", { status: 503 });
    site.set("/slow-down", { status: 429 });
    expect(await check(site.url("/page"))).toEqual({ outcome: "ok", reason: "200" });
    expect(await check(site.url("/missing"))).toEqual({ outcome: "failed", reason: "404" });
    expect(await check(site.url("/gone"))).toEqual({ outcome: "failed", reason: "410" });
    expect(await check(site.url("/busy"))).toEqual({ outcome: "inconclusive", reason: "503" });
    expect(await check(site.url("/slow-down"))).toEqual({ outcome: "inconclusive", reason: "429" });
  });

  test("redirects are followed hop by hop: a chain ending in 404 fails, one ending in 200 is ok", async () => {
    site.set("/r1", { status: 302, location: "/r2" });
    site.set("/r2", { status: 301, location: site.url("/r3") });
    site.set("/r3", { status: 307, location: "/missing-at-end" });
    site.set("/missing-at-end", { status: 404 });
    const before = site.requests.length;
    expect(await check(site.url("/r1"))).toEqual({ outcome: "failed", reason: "404" });
    expect(site.requests.slice(before).map((request) => request.path)).toEqual([
      "/r1",
      "/r2",
      "/r3",
      "/missing-at-end",
    ]);
    site.set("/to-page", { status: 302, location: "/page" });
    expect(await check(site.url("/to-page"))).toEqual({ outcome: "ok", reason: "200" });
  });

  test("at most 5 redirects: a longer chain is inconclusive, never dead", async () => {
    for (let hop = 0; hop < 7; hop++) site.set(`/loop${hop}`, { status: 302, location: `/loop${hop + 1}` });
    const before = site.requests.length;
    expect(await check(site.url("/loop0"))).toEqual({
      outcome: "inconclusive",
      reason: "too many redirects",
    });
    expect(site.requests.length - before).toBe(6);
  });

  test("a redirect to an app scheme (a store handing over to its app) is ok", async () => {
    site.set("/store", { status: 302, location: "itms-apps://apps.apple.com/app/id1" });
    expect(await check(site.url("/store"))).toEqual({ outcome: "ok", reason: "redirect to itms-apps:" });
  });

  test("a slow server times out: inconclusive", async () => {
    site.set("/slow", { hangMs: 3_000 });
    const started = Date.now();
    expect(await check(site.url("/slow"), "default", { timeoutMs: 300 })).toEqual({
      outcome: "inconclusive",
      reason: "timeout",
    });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  test("a timeout stays a timeout when the check can also be cut; a cut ends the check at once", async () => {
    site.set("/slower", { hangMs: 3_000 });
    const stopping = new AbortController();
    expect(await check(site.url("/slower"), "default", { timeoutMs: 200, signal: stopping.signal })).toEqual({
      outcome: "inconclusive",
      reason: "timeout",
    });
    const started = Date.now();
    setTimeout(() => stopping.abort(), 100);
    expect((await check(site.url("/slower"), "default", { signal: stopping.signal })).outcome).toBe(
      "inconclusive",
    );
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  test("connection refused is inconclusive", async () => {
    expect(await check(`http://127.0.0.1:${freePort()}/`)).toEqual({
      outcome: "inconclusive",
      reason: "connection refused",
    });
  });

  test("the body is read up to 64 KiB, no further", async () => {
    // Both bodies stall, never ending: a check that reads past 64 KiB waits for the timeout.
    site.set("/big", { stallAfterBytes: 80 * 1024 });
    site.set("/small", { stallAfterBytes: 32 * 1024 });
    const timeoutMs = 1_500;
    let started = Date.now();
    expect(await check(site.url("/big"), "default", { timeoutMs })).toEqual({ outcome: "ok", reason: "200" });
    expect(Date.now() - started).toBeLessThan(timeoutMs);
    // Below the limit it does wait for more, until the timeout; the status decides all the same.
    started = Date.now();
    expect(await check(site.url("/small"), "default", { timeoutMs })).toEqual({
      outcome: "ok",
      reason: "200",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs - 50);
  });

  test("the User-Agent is a device of the target's platform", async () => {
    for (const platform of ["ios", "android", "default"]) await check(site.url(`/ua-${platform}`), platform);
    const agent = (platform: string) => site.requestsTo(`/ua-${platform}`)[0]?.userAgent;
    expect(agent("ios")).toContain("iPhone");
    expect(agent("android")).toContain("Android");
    expect(agent("default")).toContain("Windows NT");
    expect(agent("ios")).toBe(userAgentFor("ios"));
  });

  test("a target with macros is checked with every macro empty", async () => {
    await check(site.url("/m?click={click_id}&sub={q:sub1}&x=1"));
    expect(site.requestsTo("/m?click=&sub=&x=1")).toHaveLength(1);
  });

  test("app schemes are not requested and count as ok", async () => {
    expect(await check("myapp://open/product")).toEqual({
      outcome: "ok",
      reason: "not checked: not an http(s) URL",
    });
  });
});

describe("names and certificates", () => {
  test("a certificate for another host fails the check (the CA itself is trusted)", async () => {
    const other = httpsSite(["other.example"]);
    expect(await check(other.url("/", "localhost"), "default", { ca: ca.pem })).toEqual({
      outcome: "failed",
      reason: "tls: ERR_TLS_CERT_ALTNAME_INVALID",
    });
    // Same CA, a certificate for the name asked for: the check goes through.
    const right = httpsSite();
    expect(await check(right.url("/", "localhost"), "default", { ca: ca.pem })).toEqual({
      outcome: "ok",
      reason: "200",
    });
  });

  test("a chain the client cannot complete is inconclusive (browsers fetch missing intermediates)", async () => {
    const right = httpsSite();
    expect(await check(right.url("/", "localhost"))).toEqual({
      outcome: "inconclusive",
      reason: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
  });

  // A .invalid name never resolves (RFC 6761). This proves that the resolver's "no such name"
  // (ENOTFOUND) fails the check; in a sandbox without DNS every name gets that answer, so it does
  // not prove that a resolver merely unable to answer (EAI_AGAIN) is inconclusive.
  test("a name that does not resolve fails the check", async () => {
    expect(await check("https://no-such-store.invalid/app")).toEqual({
      outcome: "failed",
      reason: "dns: name does not resolve",
    });
  });
});
