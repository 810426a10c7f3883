import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// Preloaded by bunfig.toml: an afterAll here runs once, after the last test file, so the
// shared PostgreSQL cluster and every other child are gone when `bun test` ends. Removing the
// folders took up to 4.3 s after just five test files on a busy shared machine, and more than the
// default 5 s a hook gets after the whole suite.
afterAll(cleanUp, { timeout: 120_000 });
