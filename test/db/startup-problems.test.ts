import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { type DatabaseProblemKind, databaseProblem } from "../../src/db/problem";
import type { RunningService } from "../../src/server";
import { waitFor } from "../support/ports";
import { PostgresServer } from "../support/postgres";
import { LogLines, migrate, startTestService } from "../support/service";

// A private PostgreSQL cluster (its pg_hba.conf is changed here) and services started against it.
setDefaultTimeout(30_000);

const ROLE = "clicks_password";
const PASSWORD = "the-right-one";
const NOT_MIGRATED = "links not loaded: database not migrated: run npm run db:migrate";
const WRONG_LOGIN =
  "links not loaded: database refused the login: check the user and password in DATABASE_URL";
const NO_DATABASE =
  "links not loaded: database does not exist: create it, or correct its name in DATABASE_URL";

let server: PostgresServer;

async function admin<T extends postgres.Row>(text: string, database = server.url()): Promise<T[]> {
  const sql = postgres(database, { max: 1, onnotice: () => {} });
  try {
    return await sql.unsafe<T[]>(text);
  } finally {
    await sql.end();
  }
}

beforeAll(async () => {
  server = await PostgresServer.start();
  // The test cluster trusts everyone; this role has to prove its password (SCRAM), as in production.
  await admin(`create role ${ROLE} login password '${PASSWORD}'`);
  const [{ hba_file: hbaFile } = { hba_file: "" }] = await admin<{ hba_file: string }>("show hba_file");
  writeFileSync(hbaFile, `host all ${ROLE} 127.0.0.1/32 scram-sha-256\n${readFileSync(hbaFile, "utf8")}`);
  await admin("select pg_reload_conf()");
});

afterAll(async () => {
  await server?.stop();
});

/** The service on `databaseUrl`, and what /check answers once its first load has failed. */
async function started(databaseUrl: string): Promise<{ service: RunningService; logs: LogLines }> {
  const logs = new LogLines();
  const service = await startTestService({ DATABASE_URL: databaseUrl }, logs);
  return { service, logs };
}

async function check(service: RunningService): Promise<{ status: number; body: string }> {
  const response = await fetch(`${service.url}/check`);
  return { status: response.status, body: await response.text() };
}

function messages(logs: LogLines, level: string): string[] {
  return logs
    .entries()
    .filter((entry) => entry.level === level)
    .map((entry) => entry.msg as string);
}

async function becomesReady(service: RunningService, logs: LogLines): Promise<void> {
  // Retries back off to 2 s at most: the next one finds the table.
  await waitFor("/check 200", async () => (await check(service)).status === 200 || undefined, 10_000);
  expect(logs.entries().some((entry) => entry.msg === "links loaded")).toBe(true);
}

describe("a PostgreSQL that answers but cannot serve the links: /check and the log say why", () => {
  test("no campaign_links table: not migrated; after the migration, ready without a restart", async () => {
    const url = await server.createDatabase();
    const { service, logs } = await started(url);
    try {
      expect(await check(service)).toEqual({ status: 503, body: NOT_MIGRATED });
      const click = await fetch(`${service.url}/click/1/go`, { redirect: "manual" });
      expect(click.status).toBe(503);
      expect(await click.text()).toBe(`Service Unavailable: ${NOT_MIGRATED}`);
      expect(messages(logs, "error")).toEqual([NOT_MIGRATED]);
      expect(logs.lines.join("\n")).not.toContain("database unreachable");

      await migrate(url);
      await becomesReady(service, logs);
      // Logged once, however many retries it took.
      expect(messages(logs, "error")).toEqual([NOT_MIGRATED]);
    } finally {
      await service.stop();
    }
  });

  test("the tables of an older release only: not migrated; after the migration, ready without a restart", async () => {
    const url = await server.createDatabase();
    await migrate(url);
    // As a database migrated by the previous release: its last migration never applied.
    await admin(
      "delete from drizzle.__drizzle_migrations where id = (select max(id) from drizzle.__drizzle_migrations); drop table destinations",
      url,
    );
    const { service, logs } = await started(url);
    try {
      expect(await check(service)).toEqual({ status: 503, body: NOT_MIGRATED });
      expect(messages(logs, "error")).toEqual([NOT_MIGRATED]);

      await migrate(url);
      await becomesReady(service, logs);
      expect(messages(logs, "error")).toEqual([NOT_MIGRATED]);
    } finally {
      await service.stop();
    }
  });

  test("a wrong password: the login was refused, not the network", async () => {
    const database = await server.createDatabase();
    await migrate(database);
    await admin(`grant select on all tables in schema public to ${ROLE}`, database);
    const url = new URL(database);
    url.username = ROLE;
    url.password = "a-wrong-one";
    const { service, logs } = await started(url.href);
    try {
      expect(await check(service)).toEqual({ status: 503, body: WRONG_LOGIN });
      expect(messages(logs, "error")).toEqual([WRONG_LOGIN]);
      expect(logs.lines.join("\n")).not.toContain("database unreachable");
      expect(logs.lines.join("\n")).not.toContain("a-wrong-one");
    } finally {
      await service.stop();
    }
    // The same role with its right password is served: it was the password, and only that.
    url.password = PASSWORD;
    const right = await started(url.href);
    try {
      expect(await check(right.service)).toEqual({ status: 200, body: "OK" });
    } finally {
      await right.service.stop();
    }
  });

  test("a database that does not exist: named as such; created and migrated, ready without a restart", async () => {
    const url = new URL(server.url());
    url.pathname = "/clicks_not_created_yet";
    const { service, logs } = await started(url.href);
    try {
      expect(await check(service)).toEqual({ status: 503, body: NO_DATABASE });
      expect(messages(logs, "error")).toEqual([NO_DATABASE]);
      expect(logs.lines.join("\n")).not.toContain("database unreachable");

      await admin("create database clicks_not_created_yet");
      await migrate(url.href);
      await becomesReady(service, logs);
    } finally {
      await service.stop();
    }
  });

  test("no PostgreSQL at all is still unreachable (a warning: it may come back by itself)", async () => {
    const url = new URL(server.url());
    url.port = "1";
    const { service, logs } = await started(url.href);
    try {
      expect(await check(service)).toEqual({ status: 503, body: "links not loaded: database unreachable" });
      expect(messages(logs, "warn")).toContain("links not loaded: database unreachable");
      expect(messages(logs, "error")).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

describe("databaseProblem", () => {
  const withCode = (code: string) => Object.assign(new Error("from the driver"), { code });
  const failedQuery = new Error("Failed query: select …", { cause: withCode("42P01") });
  const cases: Array<[string, unknown, DatabaseProblemKind]> = [
    ["SQLSTATE 42P01", withCode("42P01"), "not_migrated"],
    ["SQLSTATE 42703", withCode("42703"), "not_migrated"],
    ["SQLSTATE 28P01", withCode("28P01"), "authentication_failed"],
    ["SQLSTATE 28000", withCode("28000"), "authentication_failed"],
    ["SQLSTATE 3D000", withCode("3D000"), "no_such_database"],
    ["SQLSTATE 57P03", withCode("57P03"), "unreachable"],
    ["SQLSTATE 08006", withCode("08006"), "unreachable"],
    ["ECONNREFUSED", withCode("ECONNREFUSED"), "unreachable"],
    ["CONNECT_TIMEOUT", withCode("CONNECT_TIMEOUT"), "unreachable"],
    ["a load timeout", new Error("loading the links took longer than 30000 ms"), "unreachable"],
    ["a string", "not an error", "unreachable"],
    ["SQLSTATE 42501", withCode("42501"), "failed"],
    ["drizzle's wrapper of 42P01", failedQuery, "not_migrated"],
  ];
  for (const [what, error, kind] of cases) {
    test(`${what} is ${kind}`, () => {
      expect(databaseProblem(error).kind).toBe(kind);
    });
  }

  test("an unexpected SQLSTATE is named, so that it can be looked up", () => {
    expect(databaseProblem(withCode("42501")).reason).toBe("database error 42501");
  });
});
