import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// Preloaded by bunfig.toml: an afterAll here runs once, after the last test file, so the
// shared PostgreSQL cluster and every other child are gone when `bun test` ends.
// Removing every cluster and data folder of the run is synchronous and, on a busy disk, took longer
// than the 5 s a hook gets by default (reported as a failed "(unnamed)" test).
afterAll(cleanUp, { timeout: 120_000 });
