import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// Preloaded by bunfig.toml: an afterAll here runs once, after the last test file, so the
// shared PostgreSQL cluster and every other child are gone when `bun test` ends. Removing the
// clusters' folders can take seconds on a loaded machine: the hook gets more than the 5 s default.
const CLEAN_UP_TIMEOUT_MS = 60_000;
afterAll(cleanUp, CLEAN_UP_TIMEOUT_MS);
