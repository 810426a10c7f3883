/**
 * The cost of the PROXY front: clicks over HTTPS straight to Bun.serve's TLS listener, against the
 * same clicks through the front (PROXY v2 header, relay to the TLS listener on loopback).
 *
 *   bun bench/proxy-front.ts [--seconds 3] [--rounds 3] [--connections 16]
 *
 * The service runs as its own process (embedded PGlite, a real redis-server clickstore); the load
 * comes from this process over loopback, in two shapes: a new connection (TCP + TLS handshake)
 * per click, and kept-alive connections. The load generator (node:tls in Bun) shares the two cores
 * and is the bottleneck of the new-connection shape, so clicks per second compare poorly; the
 * service's CPU time per click is the figure that tells the front's cost. Both services run at
 * once and the scenarios alternate for several rounds, so that the load of anything else on the
 * machine falls on both alike. Prints one table and the front's cost in CPU per click, and writes
 * JSON into BENCH_RESULTS_DIR (default bench/results/).
 */
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { freePort, waitFor } from "../test/support/ports";
import { v2Inet } from "../test/support/proxy-protocol";
import { RedisServer } from "../test/support/redis";
import { spawnService } from "../test/support/service";
import { TestCa } from "../test/support/tls";
import { resultsFile } from "./options";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const HEADER = v2Inet([198, 51, 100, 23], [10, 0, 0, 1]);
const SHAPES: Array<[string, boolean]> = [
  ["new connection per click", false],
  ["kept-alive connections", true],
];
const REQUEST = "GET /click/1/go?idfa=bench HTTP/1.1\r\nhost: localhost\r\nuser-agent: bench\r\n\r\n";

interface Sample {
  latencies: number[];
  errors: number;
  cpuMicros: number;
}

interface Result {
  scenario: string;
  clicks: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The service process's CPU time per click: the load generator shares the machine, so this is the fair figure. */
  serviceCpuUsPerClick: number;
}

const CLOCK_TICKS_PER_SECOND = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** User + system CPU time of a process so far, in microseconds (from /proc). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

/** Opens a TLS connection, through the front (header first) or straight. */
async function connect(port: number, ca: string, proxied: boolean): Promise<tls.TLSSocket> {
  const options = { ca, servername: "localhost" };
  let socket: tls.TLSSocket;
  if (proxied) {
    const raw = net.connect(port, "127.0.0.1");
    await new Promise((resolve, reject) => raw.once("connect", resolve).once("error", reject));
    raw.write(HEADER);
    socket = tls.connect({ ...options, socket: raw });
  } else {
    socket = tls.connect({ ...options, host: "127.0.0.1", port });
  }
  await new Promise((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return socket;
}

/** Sends one click and waits for the whole (empty-bodied) 307. */
function clickOn(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = "";
    const onData = (chunk: Buffer) => {
      received += chunk;
      if (!received.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.off("error", reject);
      if (received.startsWith("HTTP/1.1 307 ")) resolve();
      else reject(new Error(`unexpected answer: ${received.slice(0, 40)}`));
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(REQUEST);
  });
}

/** One scenario for SECONDS: CONNECTIONS clients clicking as fast as they are answered. */
async function run(target: Target, keepAlive: boolean, ca: string): Promise<Sample> {
  const cpuBefore = cpuMicros(target.pid);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async () => {
    let socket: tls.TLSSocket | undefined;
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        socket ??= await connect(target.port, ca, target.proxied);
        await clickOn(socket);
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
        socket?.destroy();
        socket = undefined;
      }
      if (!keepAlive) {
        socket?.destroy();
        socket = undefined;
      }
    }
    socket?.destroy();
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { latencies, errors, cpuMicros: cpuMicros(target.pid) - cpuBefore };
}

function summarize(scenario: string, samples: Sample[]): Result {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((a, b) => a - b);
  const cpu = samples.reduce((sum, sample) => sum + sample.cpuMicros, 0);
  const at = (q: number) => Number((latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2));
  return {
    scenario,
    clicks: latencies.length,
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    perSecond: Math.round(latencies.length / (SECONDS * samples.length)),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    serviceCpuUsPerClick: Math.round(cpu / Math.max(latencies.length, 1)),
  };
}

interface Target {
  via: string;
  proxied: boolean;
  pid: number;
  port: number;
}

async function main() {
  const ca = TestCa.create();
  const pair = ca.issue("bench");
  const redis = await RedisServer.start();
  const services: Awaited<ReturnType<typeof spawnService>>[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    // Both at once: each start opens its own embedded database, which takes a while.
    const targets = await Promise.all(
      [false, true].map(async (proxied): Promise<Target> => {
        const httpsPort = freePort();
        const service = await spawnService({
          REDIS_URL_CLICKSTORE_1: redis.url,
          TLS_CERT_FILE: pair.certFile,
          TLS_KEY_FILE: pair.keyFile,
          HTTPS_PORT: String(httpsPort),
          PROXY_PROTOCOL: proxied ? "v2" : "off",
          ALLOW_UNSIGNED_API: "true",
        });
        services.push(service);
        const created = await fetch(`${service.url}/api/1/create`, {
          method: "POST",
          body: new URLSearchParams({
            campaign_link: JSON.stringify({ id: 1, target_url: { default: "https://example.com/" } }),
          }),
        });
        if (!created.ok) throw new Error(`link not created: ${created.status}`);
        await waitFor("the first click", () =>
          connect(httpsPort, ca.pem, proxied)
            .then(clickOn)
            .then(() => true),
        );
        return {
          via: proxied ? "through the front" : "direct",
          proxied,
          pid: service.process.pid,
          port: httpsPort,
        };
      }),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const [shape, keepAlive] of SHAPES) {
        for (const target of targets) {
          const scenario = `${shape}, ${target.via}`;
          samples.set(scenario, [...(samples.get(scenario) ?? []), await run(target, keepAlive, ca.pem)]);
        }
      }
      await redis.clear();
    }
  } finally {
    for (const service of services) await service.kill("SIGTERM");
    await redis.stop();
  }

  const results = [...samples].map(([scenario, runs]) => summarize(scenario, runs));
  console.table(results);
  const cost = (shape: string) => {
    const direct = results.find((r) => r.scenario === `${shape}, direct`) as Result;
    const front = results.find((r) => r.scenario === `${shape}, through the front`) as Result;
    return Number(((front.serviceCpuUsPerClick / direct.serviceCpuUsPerClick - 1) * 100).toFixed(1));
  };
  const summary = {
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    frontCpuCostNewConnectionPct: cost("new connection per click"),
    frontCpuCostKeepAlivePct: cost("kept-alive connections"),
  };
  console.log(
    `front_cpu_cost_new_connection=${summary.frontCpuCostNewConnectionPct}% front_cpu_cost_keep_alive=${summary.frontCpuCostKeepAlivePct}%`,
  );
  const file = resultsFile(`proxy-front-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), summary, results }, null, 2)}\n`);
  console.log(`results: ${file}`);
}

await main();
process.exit(0);
