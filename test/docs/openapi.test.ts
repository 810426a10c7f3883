import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { compileErrors, dereference, validate } from "@readme/openapi-parser";
import Ajv2020 from "ajv/dist/2020";
import { sign } from "../../src/api/signature";
import { directRoutes } from "../../src/http/listeners";
import { parseLinkId, parseLinkJson } from "../../src/links/validation";
import { metricsListenerRoutes } from "../../src/metrics/route";
import type { RunningService } from "../../src/server";
import { apiForm } from "../support/api";
import { click, startTestService } from "../support/service";

// A real service (embedded database) starts here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const DOCUMENT = join(import.meta.dir, "..", "..", "docs", "openapi.yaml");
const METHODS = ["get", "head", "post", "put", "delete", "patch", "options", "trace"] as const;

interface Example {
  summary?: string;
  value: unknown;
}
interface MediaType {
  schema?: Record<string, unknown>;
  examples?: Record<string, Example>;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { pattern?: string };
  example?: string;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & { parameters?: Parameter[] };
interface OpenApi {
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Record<string, unknown>>;
    securitySchemes: Record<string, { description?: string }>;
  };
}

/** A fresh copy each time: the parser resolves references in place. */
async function readDocument(): Promise<OpenApi> {
  return Bun.YAML.parse(await Bun.file(DOCUMENT).text()) as OpenApi;
}

async function resolvedDocument(): Promise<OpenApi> {
  return (await dereference(structuredClone(await readDocument()) as never)) as unknown as OpenApi;
}

function operations(document: OpenApi): Array<{ method: string; path: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method: method.toUpperCase(), path, operation }] : [];
    }),
  );
}

function parametersOf(document: OpenApi, path: string, operation: Operation): Parameter[] {
  return [...(document.paths[path]?.parameters ?? []), ...(operation.parameters ?? [])];
}

const LITERALS = /^[\w.-]+(?:\|[\w.-]+)*$/;

/** The path's segments; a slash inside a parameter's `{regex}` belongs to the regex. */
function segmentsOf(route: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let segment = "";
  for (const char of route.slice(1)) {
    if (char === "/" && depth === 0) {
      segments.push(segment);
      segment = "";
      continue;
    }
    if (char === "{") depth++;
    if (char === "}") depth--;
    segment += char;
  }
  return [...segments, segment];
}

/**
 * A route of the app or of Bun's router, as OpenAPI paths: `:name` → `{name}`; `:name{a|b}` (a
 * choice of literals) → one path per literal; `:name{regex}` → `{name}`, its regex kept to compare.
 */
function openApiPaths(route: string): Array<{ path: string; patterns: Record<string, string> }> {
  let paths = [{ path: "", patterns: {} as Record<string, string> }];
  for (const segment of segmentsOf(route)) {
    const match = /^:(\w+)(?:\{(.+)\})?$/.exec(segment);
    const [name, regex] = match ? [match[1] as string, match[2]] : [undefined, undefined];
    paths = paths.flatMap(({ path, patterns }) => {
      if (name === undefined) return [{ path: `${path}/${segment}`, patterns }];
      if (regex === undefined) return [{ path: `${path}/{${name}}`, patterns }];
      if (LITERALS.test(regex))
        return regex.split("|").map((literal) => ({ path: `${path}/${literal}`, patterns }));
      return [{ path: `${path}/{${name}}`, patterns: { ...patterns, [name]: `^${regex}$` } }];
    });
  }
  return paths;
}

/** The payload's answer from the real validator, in the form the API sends it. */
function validatorAnswer(action: "create" | "delete", payload: string): { status: number; body: unknown } {
  const result = action === "create" ? parseLinkJson(payload) : parseLinkId(payload);
  return result.ok
    ? { status: 200, body: { status: "ok" } }
    : {
        status: 400,
        body: { status: "error", field: result.field, error: `${result.field} ${result.message}` },
      };
}

interface LinkExample {
  action: "create" | "delete";
  name: string;
  payload: string;
  pepper: string;
  documented: { status: number; body: unknown };
}

/** Every request example of the link API with the answer the document gives for it. */
function linkExamples(document: OpenApi): LinkExample[] {
  return (["create", "delete"] as const).flatMap((action) => {
    const operation = document.paths[`/api/{version}/${action}`]?.post;
    if (!operation) throw new Error(`/api/{version}/${action} is not documented`);
    const requests = operation.requestBody?.content["application/x-www-form-urlencoded"]?.examples ?? {};
    const refusals = operation.responses["400"]?.content?.["application/json"]?.examples ?? {};
    const ok = operation.responses["200"]?.content?.["application/json"];
    expect(ok?.schema?.required).toEqual(["status"]);
    for (const name of Object.keys(refusals)) expect(Object.keys(requests)).toContain(name);
    return Object.entries(requests).map(([name, example]) => {
      const { campaign_link, pepper } = example.value as { campaign_link: string; pepper: string };
      const refusal = refusals[name];
      return {
        action,
        name,
        payload: campaign_link,
        pepper,
        documented: refusal ? { status: 400, body: refusal.value } : { status: 200, body: { status: "ok" } },
      };
    });
  });
}

/** `the secret \`…\``: what the security schemes' descriptions say the examples were signed with. */
function quoted(text: string | undefined, before: string): string {
  const match = new RegExp(`${before.replaceAll(" ", "\\s+")}\\s+\`([^\`]+)\``).exec(text ?? "");
  if (!match) throw new Error(`no ${before} \`…\` in: ${text}`);
  return match[1] as string;
}

describe("docs/openapi.yaml", () => {
  let document: OpenApi;
  let service: RunningService;
  let secret: string;
  let salt: string;

  beforeAll(async () => {
    document = await resolvedDocument();
    const legacy = document.components.securitySchemes.legacySignature?.description;
    secret = quoted(legacy, "the secret");
    salt = quoted(legacy, "the salt");
    service = await startTestService({ API_SECRET_KEY: secret, METRICS_TOKEN: "openapi-test-token" });
  });

  afterAll(async () => {
    await service?.stop();
  });

  test("is a valid OpenAPI 3.1 document", async () => {
    const raw = await readDocument();
    expect((raw as unknown as { openapi: string }).openapi).toStartWith("3.1.");
    const result = await validate(raw as never);
    expect(result.valid ? "valid" : compileErrors(result)).toBe("valid");
  });

  test("documents exactly the routes the service serves", () => {
    const served = new Map<string, Record<string, string>>();
    const serve = (method: string, route: string) => {
      for (const { path, patterns } of openApiPaths(route)) served.set(`${method} ${path}`, patterns);
    };
    for (const route of service.app.routes) serve(route.method, route.path);
    const answer = () => Promise.resolve(new Response());
    for (const routes of [directRoutes(answer), metricsListenerRoutes(answer)]) {
      for (const [route, methods] of Object.entries(routes)) {
        for (const method of Object.keys(methods)) serve(method, route);
      }
    }
    const documented = operations(document);
    expect(documented.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      [...served.keys()].sort(),
    );

    // A parameter the router matches with a regex is documented with that pattern.
    for (const { method, path, operation } of documented) {
      const patterns = served.get(`${method} ${path}`) ?? {};
      for (const parameter of parametersOf(document, path, operation).filter((each) => each.in === "path")) {
        expect({ path, parameter: parameter.name, pattern: parameter.schema?.pattern }).toEqual({
          path,
          parameter: parameter.name,
          pattern: patterns[parameter.name],
        });
      }
    }
  });

  test("every operation, called without credentials, answers a status it documents", async () => {
    for (const { method, path, operation } of operations(document)) {
      let url = path;
      for (const parameter of parametersOf(document, path, operation).filter((each) => each.in === "path")) {
        if (parameter.example === undefined) throw new Error(`${path}: {${parameter.name}} has no example`);
        url = url.replace(`{${parameter.name}}`, parameter.example);
      }
      const response = await click(service.url, url, { method });
      await response.arrayBuffer();
      expect({ method, path, status: response.status }).toEqual({
        method,
        path,
        status: Object.keys(operation.responses).includes(String(response.status)) ? response.status : -1,
      });
    }
  });

  test("the link schema accepts and refuses the documented examples as the validator does", () => {
    const ajv = new Ajv2020({ strict: false });
    const schemas = {
      create: ajv.compile(document.components.schemas.LinkJson as object),
      delete: ajv.compile(
        (
          document.components.schemas.DeleteForm as {
            properties: { campaign_link: { contentSchema: object } };
          }
        ).properties.campaign_link.contentSchema,
      ),
    };
    const examples = linkExamples(document);
    expect(examples.filter((example) => example.documented.status === 200).length).toBeGreaterThanOrEqual(5);
    expect(examples.filter((example) => example.documented.status === 400).length).toBeGreaterThanOrEqual(20);
    for (const { action, name, payload, documented } of examples) {
      expect({ name, ...validatorAnswer(action, payload) }).toEqual({ name, ...documented });
      let json: unknown;
      try {
        json = JSON.parse(payload);
      } catch {
        continue;
      }
      expect({ name, schemaAccepts: schemas[action](json) }).toEqual({
        name,
        schemaAccepts: documented.status === 200,
      });
    }
  });

  test("the documented examples are signed as the document says, and the API answers them as documented", async () => {
    for (const { action, name, payload, pepper, documented } of linkExamples(document)) {
      expect({ name, pepper }).toEqual({ name, pepper: sign(salt, payload, secret) });
      const response = await fetch(`${service.url}/api/1/${action}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-api-salt": salt },
        body: apiForm(payload, pepper),
      });
      expect({ name, status: response.status, body: await response.json() }).toEqual({ name, ...documented });
    }
    // A created link is served at once.
    const link = await click(service.url, "/click/1004/go", {
      headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)" },
    });
    expect(link.status).toBe(307);
    expect(link.headers.get("location")).toBe("myapp://open?campaign=spring");
  });

  test("a wrongly signed request answers 404, as documented", async () => {
    const [example] = linkExamples(document);
    if (!example) throw new Error("no link example");
    const response = await fetch(`${service.url}/api/1/create`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-api-salt": `${salt}0` },
      body: apiForm(example.payload, example.pepper),
    });
    expect(response.status).toBe(404);
    expect(document.paths["/api/{version}/create"]?.post?.responses["404"]).toBeDefined();
  });

  test("the worked v2 signature is HMAC-SHA256 over timestamp, method, path and body", () => {
    const v2 = document.components.securitySchemes.v2Signature?.description;
    const key = quoted(v2, "the secret");
    const timestamp = quoted(v2, "the timestamp");
    const body = quoted(v2, "the body");
    const [method, path] = quoted(v2, "sent to").split(" ");
    const expected = createHmac("sha256", key)
      .update(`${timestamp}\n${method}\n${path}\n${body}`)
      .digest("hex");
    expect(quoted(v2, "the header is").replace(/\s+/g, " ")).toBe(`X-API-Signature: v2=${expected}`);
    expect(body).toBe(apiForm('{"id":1002}', null));
  });
});
