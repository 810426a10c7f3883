import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// Preloaded by bunfig.toml: an afterAll here runs once, after the last test file, so the
// shared PostgreSQL cluster and every other child are gone when `bun test` ends.
afterAll(cleanUp);
