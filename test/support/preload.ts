import { afterAll } from "bun:test";
import { cleanUp } from "./cleanup";

// A preload's afterAll runs once, after every test file: the shared PostgreSQL cluster and any
// redis-server a failed test left behind go with the run instead of outliving it.
afterAll(cleanUp);
