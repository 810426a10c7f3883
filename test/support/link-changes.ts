import { join } from "node:path";
import { callApi } from "./api";
import { click } from "./service";

const ROOT = join(import.meta.dir, "..", "..");

/** Deletes a link through the signed API and fails loudly if the service refuses. */
export async function deleteLink(base: string, secret: string, id: number): Promise<void> {
  const response = await callApi(base, "delete", { payload: JSON.stringify({ id }), secret });
  if (response.status !== 200) throw new Error(`delete link: ${response.status} ${await response.text()}`);
}

/** `bun run links <args>` against a database; throws with its output when it fails. */
export async function linksCli(databaseUrl: string, ...args: string[]): Promise<string> {
  const child = Bun.spawn(["bun", join(ROOT, "src", "cli", "links.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`links ${args.join(" ")} exited ${code}: ${out}${err}`);
  return out;
}

/** Where a click on the link goes: its Location, or the status when it does not redirect. */
export async function destination(base: string, id: number): Promise<string> {
  const response = await click(base, `/click/${id}/go`);
  await response.arrayBuffer();
  return response.status === 307
    ? (response.headers.get("location") ?? "307 without location")
    : String(response.status);
}
