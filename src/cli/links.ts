import { loadConfig } from "../config";
import { openDatabase } from "../db/database";
import type { CampaignLink, Destination } from "../db/schema";
import { createDestinationRepository } from "../destinations/repository";
import { createLinkRepository } from "../links/repository";
import { parseLinkJson } from "../links/validation";

/**
 * `bun run links create|list|delete|destinations`: manages campaign links on whichever database is
 * configured, with the same validation as the API, and shows which of their destinations are not alive.
 */
const USAGE = `usage:
  bun run links create '<link JSON, as the API takes it>'
  bun run links list
  bun run links delete <id>
  bun run links destinations    (the dead and unknown ones, with reason and since when)

example:
  bun run links create '{"id":1,"campaign":"spring","network":"adnet","target_url":{"ios":"https://apps.apple.com/app/id123","android":"https://play.google.com/store/apps/details?id=com.example","default":"https://example.com"}}'`;

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

/** One destination: state, since when, why, URL; tab-separated, the URL last since it may be long. */
function describeDestination(destination: Destination): string {
  return `${destination.state}\t${destination.since.toISOString()}\t${destination.reason}\t${destination.url}`;
}

const COMMANDS = ["create", "list", "delete", "destinations"];
const [command, argument] = process.argv.slice(2);
if (command === undefined || !COMMANDS.includes(command)) fail(USAGE);

const config = loadConfig();
const database = await openDatabase(config).catch((error: unknown) =>
  fail(error instanceof Error ? error.message : String(error)),
);
const repository = createLinkRepository(database.db);
try {
  if (command === "list") {
    const links = await repository.all();
    for (const link of links.sort((a, b) => a.id - b.id)) console.log(describe(link));
    console.error(`${links.length} link(s)`);
  } else if (command === "destinations") {
    const rows = await createDestinationRepository(database.db).all();
    // Dead first, then unknown; the longest-standing first within each.
    const listed = rows
      .filter((row) => row.state !== "alive")
      .sort((a, b) =>
        a.state === b.state ? a.since.getTime() - b.since.getTime() : a.state === "dead" ? -1 : 1,
      );
    for (const row of listed) console.log(describeDestination(row));
    console.error(`${listed.length} of ${rows.length} destination(s) not alive`);
  } else if (command === "create") {
    if (!argument) fail(USAGE);
    const parsed = parseLinkJson(argument);
    if (!parsed.ok) fail(`${parsed.field} ${parsed.message}`);
    console.log(describe(await repository.upsert(parsed.link)));
  } else {
    const id = Number(argument);
    if (!argument || !Number.isSafeInteger(id)) fail(USAGE);
    console.log((await repository.remove(id)) ? `deleted ${id}` : `no link ${id}`);
  }
} finally {
  await database.close();
}
