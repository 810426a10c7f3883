import { loadConfig } from "../config";
import { openDatabase } from "./database";

// `bun run db:migrate`: the release step on fly.io, one machine at a time.
const config = loadConfig();
const database = await openDatabase(config);
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
