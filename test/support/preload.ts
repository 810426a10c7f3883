import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// Preloaded by bunfig.toml: an afterAll here runs once, after the last test file, so the
// shared PostgreSQL cluster and every other child are gone when `bun test` ends. Removing every
// database and folder of a full run took from under 1 s to over 40 s on a busy shared machine,
// past the default 5 s a hook gets.
afterAll(cleanUp, { timeout: 120_000 });
