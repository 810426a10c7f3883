/**
 * What an error from the database means for the person running the service. A database that
 * answers but refuses (no table, wrong password, no such database) needs someone to act, and
 * saying "unreachable" would send them looking at the network.
 */
export type DatabaseProblemKind =
  | "unreachable"
  | "not_migrated"
  | "authentication_failed"
  | "no_such_database"
  | "failed";

export interface DatabaseProblem {
  kind: DatabaseProblemKind;
  /** One line for /check and the log: no host, user, password or database name (/check is public). */
  reason: string;
  /** The SQLSTATE PostgreSQL answered with, when it answered. */
  code?: string;
}

/** The database answers and has the tables, but not every migration of this release is applied. */
export class NotMigratedError extends Error {
  override name = "NotMigratedError";
}

const REASONS: Record<DatabaseProblemKind, string> = {
  unreachable: "database unreachable",
  not_migrated: "database not migrated: run npm run db:migrate",
  authentication_failed: "database refused the login: check the user and password in DATABASE_URL",
  no_such_database: "database does not exist: create it, or correct its name in DATABASE_URL",
  failed: "database error",
};

// https://www.postgresql.org/docs/current/errcodes-appendix.html
const KIND_OF_CODE: Record<string, DatabaseProblemKind> = {
  "42P01": "not_migrated", // undefined_table: campaign_links is not there
  "42703": "not_migrated", // undefined_column: a migration of this release is not applied
  "3F000": "not_migrated", // invalid_schema_name: no drizzle schema, so no migration was ever applied
  "28P01": "authentication_failed", // invalid_password
  "28000": "authentication_failed", // invalid_authorization_specification: no pg_hba.conf entry, no such role
  "3D000": "no_such_database", // invalid_catalog_name
  "57P01": "unreachable", // admin_shutdown
  "57P02": "unreachable", // crash_shutdown
  "57P03": "unreachable", // cannot_connect_now: starting up or shutting down
};

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of the error or of what it wraps (drizzle wraps the driver's error as `cause`). */
function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    // Network errors carry codes too (ECONNREFUSED, CONNECT_TIMEOUT): not SQLSTATEs.
    if (typeof code === "string" && SQLSTATE.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}

export function databaseProblem(error: unknown): DatabaseProblem {
  if (error instanceof NotMigratedError) return { kind: "not_migrated", reason: REASONS.not_migrated };
  const code = sqlState(error);
  // No answer from PostgreSQL at all: refused, timed out, cut.
  if (code === undefined) return { kind: "unreachable", reason: REASONS.unreachable };
  // Class 08: connection exceptions.
  const kind = KIND_OF_CODE[code] ?? (code.startsWith("08") ? "unreachable" : "failed");
  const reason = kind === "failed" ? `${REASONS.failed} ${code}` : REASONS[kind];
  return { kind, reason, code };
}
