import { loadConfig } from "../config";
import { openDatabase } from "../db/database";
import type { CampaignLink } from "../db/schema";
import { createLinkRepository } from "../links/repository";
import { parseIdArgument, parseLinkJson } from "../links/validation";

/**
 * `npm run links create|list|delete`: manages campaign links on whichever database is configured,
 * with the same validation as the API.
 */
const USAGE = `usage:
  npm run links create '<link JSON, as the API takes it>'
  npm run links list
  npm run links delete <id>
  npm run links -- --help

example:
  npm run links create '{"id":1,"campaign":"spring","network":"adnet","target_url":{"ios":"https://apps.apple.com/app/id123","android":"https://play.google.com/store/apps/details?id=com.example","default":"https://example.com"}}'`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function describe(link: CampaignLink): string {
  const targets = Object.entries(link.targetUrl)
    .map(([platform, url]) => `${platform}=${url}`)
    .join(" ");
  const fields = [link.campaign, link.adgroup, link.ad, link.network].map((value) => value ?? "-").join("/");
  return `${link.id}\t${fields}\t${targets}`;
}

const [command, argument = ""] = process.argv.slice(2);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (command !== "create" && command !== "list" && command !== "delete") fail(USAGE);
if (command !== "list" && !argument) fail(USAGE);
// Judged before the database is opened: a refused argument needs none.
const parsed =
  command === "create"
    ? parseLinkJson(argument)
    : command === "delete"
      ? parseIdArgument(argument)
      : undefined;
if (parsed && !parsed.ok) fail(`${parsed.field} ${parsed.message}`);

const config = loadConfig();
const database = await openDatabase(config).catch((error: unknown) =>
  fail(error instanceof Error ? error.message : String(error)),
);
const repository = createLinkRepository(database.db);
try {
  if (parsed === undefined) {
    const links = await repository.all();
    for (const link of links.sort((a, b) => a.id - b.id)) console.log(describe(link));
    console.error(`${links.length} link(s)`);
  } else if ("link" in parsed) {
    console.log(describe(await repository.upsert(parsed.link)));
  } else if ("id" in parsed) {
    console.log((await repository.remove(parsed.id)) ? `deleted ${parsed.id}` : `no link ${parsed.id}`);
  }
} finally {
  await database.close();
}
