import { V2_WINDOW_SECONDS } from "../api/authenticate";
import { sendLinkApiRequest, signedLinkApiRequest } from "../api/client";
import { loadConfig } from "../config";
import { openDatabase } from "../db/database";
import type { CampaignLink, Destination } from "../db/schema";
import { createDestinationRepository } from "../destinations/repository";
import { createLinkRepository } from "../links/repository";
import { parseIdArgument, parseLinkJson } from "../links/validation";
import type { ApiAction } from "../metrics/metrics";

/**
 * `npm run links create|list|delete|destinations`: manages campaign links on whichever database is
 * configured, with the same validation as the API, and shows which of their destinations are not
 * alive; with `--api URL`, create and delete go through the link API of a running service instead,
 * signed the v2 way with API_SECRET_KEY (the reference client for integrators).
 */
const USAGE = `usage:
  npm run links create '<link JSON, as the API takes it>'
  npm run links list
  npm run links delete <id>
  npm run links destinations    (the dead and unknown ones, with reason and since when)
  npm run links -- create --api <service URL> '<link JSON>'
  npm run links -- delete --api <service URL> <id>
  npm run links -- --help

Without --api, the links are changed in the database itself (DATABASE_URL, or the embedded one
under DATA_DIR while no service runs on it). With --api, through the link API of a running
service, each request signed the v2 way with API_SECRET_KEY. (npm passes options such as --api
on only after --.)

example:
  npm run links create '{"id":1,"campaign":"spring","network":"adnet","target_url":{"ios":"https://apps.apple.com/app/id123","android":"https://play.google.com/store/apps/details?id=com.example","default":"https://example.com"}}'
  API_SECRET_KEY=… npm run links -- delete --api https://clicks.example.com 1`;

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

/** `--api URL` or `--api=URL`, anywhere; the rest in order. */
function readArguments(args: string[]): { api: string | undefined; rest: string[] } {
  let api: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--api") {
      api = args[++i];
      if (api === undefined) fail("--api needs the service's URL, e.g. --api http://127.0.0.1:2343");
    } else if (arg.startsWith("--api=")) {
      api = arg.slice("--api=".length);
    } else {
      rest.push(arg);
    }
  }
  return { api, rest };
}

/** The id a delete names, by the API's rule for ids. */
function idArgument(argument: string | undefined): number {
  if (!argument) fail(USAGE);
  const parsed = parseIdArgument(argument);
  if (!parsed.ok) fail(`${parsed.field} ${parsed.message}`);
  return parsed.id;
}

/** The link a create names, by the API's rules; with the JSON exactly as given. */
function linkArgument(argument: string | undefined) {
  if (!argument) fail(USAGE);
  const parsed = parseLinkJson(argument);
  if (!parsed.ok) fail(`${parsed.field} ${parsed.message}`);
  return { link: parsed.link, json: argument };
}

/** Why a request failed, in the words an integrator needs. */
function unreachable(url: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") {
    return `cannot reach ${url}: connection refused (is the service running on that address and port?)`;
  }
  return `cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}`;
}

async function explainAnswer(response: Response, base: string): Promise<string> {
  const text = await response.text();
  if (response.status === 404) {
    return [
      `${base} answered 404: the request was rejected, or this is not the link API of a clicks service.`,
      "The service answers a refused signature like an unknown route; its log says why, at warn level",
      '("link API request rejected" with a reason). Usual causes: API_SECRET_KEY differs from the',
      `service's, this machine's clock is more than ${V2_WINDOW_SECONDS} s off, the service has no`,
      "API_SECRET_KEY, or the URL is not the service's base URL.",
    ].join("\n");
  }
  let detail = text;
  try {
    const body = JSON.parse(text) as { error?: unknown; errorId?: unknown };
    if (typeof body.error === "string") detail = body.error;
    if (typeof body.errorId === "string") detail += ` (error id ${body.errorId})`;
  } catch {}
  return `${base} answered ${response.status}: ${detail}`;
}

async function throughApi(base: string, command: string, argument: string | undefined): Promise<void> {
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    fail(`--api ${JSON.stringify(base)}: must be the service's http(s) URL, e.g. http://127.0.0.1:2343`);
  }
  if (command === "list" || command === "destinations") {
    fail(
      `the link API has no ${command}: run \`npm run links ${command}\` where the database is (DATABASE_URL)`,
    );
  }
  const secret = loadConfig().apiSecretKey;
  if (secret === undefined)
    fail("API_SECRET_KEY is not set: --api signs each request with the service's key");
  let action: ApiAction;
  let payload: string;
  let id: number;
  if (command === "create") {
    // The same rules the service applies, so a bad link is named here without a round trip.
    const { link, json } = linkArgument(argument);
    action = "create";
    payload = json;
    id = link.id;
  } else {
    id = idArgument(argument);
    action = "delete";
    payload = JSON.stringify({ id });
  }
  let response: Response;
  try {
    response = await sendLinkApiRequest(signedLinkApiRequest(base, action, payload, secret));
  } catch (error) {
    fail(unreachable(base, error));
  }
  if (response.status !== 200) {
    console.error(await explainAnswer(response, base));
    process.exit(1);
  }
  console.log(action === "create" ? `saved ${id}` : `deleted ${id}`);
}

async function inDatabase(command: string, argument: string | undefined): Promise<void> {
  // Judged before the database is opened: a refused argument needs none.
  const link = command === "create" ? linkArgument(argument).link : undefined;
  const id = command === "delete" ? idArgument(argument) : undefined;
  const config = loadConfig();
  const database = await openDatabase(config).catch((error: unknown) =>
    fail(error instanceof Error ? error.message : String(error)),
  );
  const repository = createLinkRepository(database.db);
  try {
    if (link !== undefined) {
      console.log(describe(await repository.upsert(link)));
    } else if (id !== undefined) {
      console.log((await repository.remove(id)) ? `deleted ${id}` : `no link ${id}`);
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
    } else {
      const links = await repository.all();
      for (const stored of links.sort((a, b) => a.id - b.id)) console.log(describe(stored));
      console.error(`${links.length} link(s)`);
    }
  } finally {
    await database.close();
  }
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h") || args[0] === "help") {
  console.log(USAGE);
  process.exit(0);
}
const { api, rest } = readArguments(args);
const [command, argument] = rest;
const COMMANDS = ["create", "list", "delete", "destinations"];
if (command === undefined || !COMMANDS.includes(command)) fail(USAGE);
if (api === undefined) await inDatabase(command, argument);
else await throughApi(api, command, argument);
