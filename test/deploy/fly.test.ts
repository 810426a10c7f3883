import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { z } from "zod";
import { loadConfig } from "../../src/config";
import type { RunningService } from "../../src/server";
import { parseEvent } from "../support/consumer";
import { databaseWithLinks } from "../support/links";
import { freePort, waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { get, proxiedRequest, v2Inet } from "../support/proxy-protocol";
import { RedisServer } from "../support/redis";
import { click, spawnService, startTestService, tempDir } from "../support/service";
import { TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const ROOT = join(import.meta.dir, "..", "..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

// The parts of fly.io's app configuration these files use (flyctl's names and shapes).
const port = z.object({
  port: z.number().int(),
  handlers: z.array(z.string()),
  force_https: z.boolean().optional(),
  proxy_proto_options: z.object({ version: z.string() }).strict().optional(),
  tls_options: z
    .object({ versions: z.array(z.string()) })
    .strict()
    .optional(),
});
const check = z.object({
  interval: z.string(),
  timeout: z.string(),
  grace_period: z.string(),
  method: z.string().optional(),
  path: z.string().optional(),
  protocol: z.string().optional(),
});
const service = z
  .object({
    protocol: z.literal("tcp"),
    internal_port: z.number().int(),
    auto_stop_machines: z.string(),
    auto_start_machines: z.boolean(),
    min_machines_running: z.number().int().optional(),
    ports: z.array(port.strict()).min(1),
    concurrency: z.object({
      type: z.enum(["connections", "requests"]),
      soft_limit: z.number(),
      hard_limit: z.number(),
    }),
    tcp_checks: z.array(check.strict()).optional(),
    http_checks: z.array(check.strict()).optional(),
  })
  .strict();
const flyConfig = z
  .object({
    app: z.string(),
    primary_region: z.string(),
    kill_signal: z.enum(["SIGINT", "SIGTERM"]),
    kill_timeout: z.number().int(),
    build: z.object({ dockerfile: z.literal("Dockerfile") }).strict(),
    deploy: z.object({ release_command: z.string(), strategy: z.string() }).strict(),
    env: z.record(z.string(), z.string()),
    files: z.array(z.object({ guest_path: z.string(), secret_name: z.string() }).strict()).optional(),
    mounts: z.object({ source: z.string(), destination: z.string(), initial_size: z.string() }).strict(),
    vm: z.array(z.object({ size: z.string(), memory: z.string() }).strict()),
    restart: z.array(z.object({ policy: z.enum(["always", "on-failure", "never"]) }).strict()).optional(),
    metrics: z.object({ port: z.number().int(), path: z.string() }).strict(),
    services: z.array(service).min(1),
  })
  .strict();
type FlyConfig = z.infer<typeof flyConfig>;

const fly = flyConfig.parse(Bun.TOML.parse(read("fly.toml")));
const flyTls = flyConfig.parse(Bun.TOML.parse(read("fly.tls.toml")));
const packageJson = JSON.parse(read("package.json")) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

function serviceOn(config: FlyConfig, publicPort: number) {
  const found = config.services.find((candidate) => candidate.ports.some((p) => p.port === publicPort));
  if (!found) throw new Error(`no service for port ${publicPort}`);
  return { service: found, port: found.ports.find((p) => p.port === publicPort) as z.infer<typeof port> };
}

describe("fly.toml: TLS in the service, the client address by PROXY v2", () => {
  const https = serviceOn(fly, 443);
  const http = serviceOn(fly, 80);
  const config = loadConfig(fly.env);
  const defaults = loadConfig({ TLS_CERT_FILE: "/cert", TLS_KEY_FILE: "/key" });

  test("443 is passed through (no tls or http handler) to HTTPS_PORT with a PROXY v2 header", () => {
    expect(https.port.handlers).toEqual(["proxy_proto"]);
    expect(https.port.proxy_proto_options?.version).toBe("v2");
    expect(config.proxyProtocol).toBe("v2");
    expect(https.service.internal_port).toBe(config.httpsPort);
    expect(config.httpsPort).toBe(defaults.httpsPort);
  });

  test("80 goes through the http handler to PORT, where Fly-Client-IP is believed", () => {
    expect(http.port.handlers).toEqual(["http"]);
    expect(http.port.force_https).toBeUndefined();
    expect(http.service.internal_port).toBe(config.port);
    expect(config.port).toBe(defaults.port);
    expect(config.trustProxy).toBe("fly");
  });

  test("the certificate files come from secrets, at the paths the service reads", () => {
    expect(fly.files?.map((file) => file.guest_path)).toEqual([
      config.tls?.certFile as string,
      config.tls?.keyFile as string,
    ]);
  });

  test("the health check polls /check on the HTTP listener; the HTTPS front gets a TCP check", () => {
    expect(http.service.http_checks?.map((c) => [c.method, c.path, c.protocol])).toEqual([
      ["get", "/check", "http"],
    ]);
    expect(https.service.tcp_checks).toHaveLength(1);
    expect(https.service.http_checks).toBeUndefined();
  });

  test("concurrency: connections on the passed-through port, requests on the http handler", () => {
    expect(https.service.concurrency.type).toBe("connections");
    expect(http.service.concurrency.type).toBe("requests");
    for (const { service } of [https, http]) {
      expect(service.concurrency.soft_limit).toBeLessThan(service.concurrency.hard_limit);
    }
  });
});

describe("fly.tls.toml: fly.io terminates TLS", () => {
  const config = loadConfig(flyTls.env);

  test("443 and 80 both end at the plain HTTP listener; no TLS and no PROXY front in the service", () => {
    const https = serviceOn(flyTls, 443);
    const http = serviceOn(flyTls, 80);
    expect(https.port.handlers).toEqual(["tls", "http"]);
    expect(https.port.tls_options?.versions).toEqual(["TLSv1.2", "TLSv1.3"]);
    expect(http.port.handlers).toEqual(["http"]);
    expect([https.service.internal_port, http.service.internal_port]).toEqual([config.port, config.port]);
    expect(config.tls).toBeUndefined();
    expect(config.proxyProtocol).toBe("off");
    expect(config.trustProxy).toBe("fly");
    expect(flyTls.files).toBeUndefined();
  });

  test("the health check polls /check", () => {
    expect(serviceOn(flyTls, 80).service.http_checks?.map((c) => c.path)).toEqual(["/check"]);
  });
});

describe("both files: metrics, shutdown, release, image", () => {
  test("destinations are checked every 15 minutes, and a click to a dead one goes to a live one", () => {
    for (const config of [fly, flyTls]) {
      expect(loadConfig(config.env)).toMatchObject({
        destinationCheckSeconds: 900,
        deadDestinationFallback: true,
      });
    }
  });

  test("fly.io scrapes /metrics on METRICS_PORT, which no service exposes", () => {
    for (const config of [fly, flyTls]) {
      expect(config.metrics).toEqual({
        port: loadConfig(config.env).metricsPort as number,
        path: "/metrics",
      });
      const exposed = config.services.map((service) => service.internal_port);
      expect(exposed).not.toContain(config.metrics.port);
    }
  });

  test("machines are always on: never stopped for want of traffic, restarted whenever their process exits", () => {
    for (const config of [fly, flyTls]) {
      for (const service of config.services) {
        expect(service.auto_stop_machines).toBe("off");
        // Nothing stops a machine, so nothing is to be started on demand; min_machines_running only
        // means something to autostop.
        expect(service.auto_start_machines).toBe(false);
        expect(service.min_machines_running).toBeUndefined();
      }
      expect(config.restart).toEqual([{ policy: "always" }]);
    }
  });

  test("the VM: a dedicated vCPU per worker process, the machine the concurrency limits are reasoned for", () => {
    for (const config of [fly, flyTls]) {
      expect(config.vm).toHaveLength(1);
      const size = /^performance-(\d+)x$/.exec(config.vm[0]?.size ?? "");
      expect(size).not.toBeNull();
      expect(loadConfig(config.env).workers).toBe(Number(size?.[1]));
      expect(config.vm[0]?.memory).toBe("2048mb");
    }
  });

  test("kill_timeout leaves the graceful shutdown its time, the same in both files", () => {
    const defaultGraceMs = loadConfig({}).shutdownGraceMs;
    for (const config of [fly, flyTls]) {
      const graceMs = loadConfig(config.env).shutdownGraceMs;
      expect(graceMs).toBe(defaultGraceMs);
      expect(config.kill_timeout * 1000).toBeGreaterThan(graceMs);
      expect(config.deploy.release_command).toBe("bun run db:migrate");
    }
    expect([flyTls.kill_signal, flyTls.kill_timeout]).toEqual([fly.kill_signal, fly.kill_timeout]);
  });

  test("the kill signal stops the service gracefully (exit 0) before fly.io's kill_timeout", async () => {
    const running = await spawnService();
    // An answer means main.ts got past its start and installed its signal handlers.
    expect((await click(running.url, "/check")).status).toBe(200);
    const exited = running.kill(fly.kill_signal);
    const timeout = Bun.sleep(fly.kill_timeout * 1000).then(() => "killed by fly.io");
    expect(await Promise.race([exited, timeout])).toBe(0);
    expect(running.output()).toContain('"msg":"stopped"');
  });

  test("the release command migrates a fresh Postgres database", async () => {
    const databaseUrl = await (await sharedPostgres()).createDatabase();
    const [command, ...args] = fly.deploy.release_command.split(" ") as [string, ...string[]];
    const release = Bun.spawn([command, ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdout: "ignore",
      stderr: "pipe",
    });
    expect(await release.exited).toBe(0);
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const [table] = await sql`select to_regclass('public.campaign_links') as name`;
      expect(table?.name).toBe("campaign_links");
    } finally {
      await sql.end();
    }
  });

  test("the Dockerfile: pinned Bun, dependencies from package-lock.json, non-root, the start command", () => {
    const dockerfile = read("Dockerfile");
    const from = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(from.at(-1)).toBe(`oven/bun:${packageJson.devDependencies.bun}-slim`);
    expect(from.every((image) => /:\d+\.\d+\.\d+/.test(image as string))).toBe(true);
    expect(dockerfile).toContain("COPY package.json package-lock.json ./");
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(dockerfile).toContain("COPY drizzle ./drizzle");
    const user = [...dockerfile.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
    // npm start execs the same command, so that a signal to `npm start` reaches the service.
    expect(`exec ${cmd.join(" ")}`).toBe(packageJson.scripts.start as string);
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)?.[1]?.split(" ").map(Number);
    const config = loadConfig(fly.env);
    expect(exposed).toEqual([config.port, config.httpsPort]);
    expect(read(".dockerignore").split("\n")).toContain("node_modules");
  });
});

describe("fly.toml's settings, driven as fly.io drives them", () => {
  const ca = TestCa.create();
  const pair = ca.issue("fly-machine");
  let redis: RedisServer;
  let running: RunningService;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const databaseUrl = await databaseWithLinks([
      { id: 5, targetUrl: { default: "https://example.com/five" } },
    ]);
    const dataDir = tempDir();
    running = await startTestService({
      ...fly.env,
      // This machine's own ports, folders and certificate; everything else as fly.toml says.
      HOST: "127.0.0.1",
      PORT: String(freePort()),
      HTTPS_PORT: String(freePort()),
      DATA_DIR: dataDir,
      SPOOL_DIR: join(dataDir, "spool"),
      TLS_CERT_FILE: pair.certFile,
      TLS_KEY_FILE: pair.keyFile,
      LOG_LEVEL: "silent",
      DATABASE_URL: databaseUrl,
      REDIS_URL_CLICKSTORE_1: redis.url,
    });
  });

  afterAll(async () => {
    await running?.stop();
    await redis?.stop();
  });

  async function lastIp(): Promise<string> {
    const events = await waitFor("an event", async () => {
      const found = await redis.events();
      return found.length > 0 ? found : undefined;
    });
    await redis.clear();
    return parseEvent(events.at(-1) as string).ip;
  }

  test("port 443's proxy_proto v2 handler: the click's ip is the PROXY header's source", async () => {
    const httpsPort = Number(new URL(running.httpsUrl as string).port);
    const [response] = await proxiedRequest(httpsPort, v2Inet([198, 51, 100, 77], [10, 0, 0, 1]), ca.pem, [
      get("/click/5/go"),
    ]);
    expect(response?.status).toBe(307);
    expect(await lastIp()).toBe("198.51.100.77");
  });

  test("port 80's http handler: the click's ip is Fly-Client-IP", async () => {
    const response = await click(running.url, "/click/5/go", {
      headers: { "fly-client-ip": "2001:db8::77" },
    });
    expect(response.status).toBe(307);
    expect(await lastIp()).toBe("2001:db8::77");
  });

  test("the health check path answers OK", async () => {
    const response = await click(running.url, serviceOn(fly, 80).service.http_checks?.[0]?.path as string);
    expect([response.status, await response.text()]).toEqual([200, "OK"]);
  });
});
