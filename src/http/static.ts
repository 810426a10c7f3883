import type { App } from "../app";

// The smallest transparent 1×1 GIF (43 bytes): browsers ask for icons on every click landing.
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");
const ROBOTS = "User-agent: *\nDisallow: /\n";

export function registerStaticRoutes(app: App): void {
  const pixel = () =>
    new Response(PIXEL, {
      headers: { "content-type": "image/gif", "cache-control": "public, max-age=86400" },
    });
  app.get("/favicon.ico", pixel);
  app.get("/:icon{apple-[^/]*\\.png}", pixel);
  app.get("/robots.txt", (c) => c.text(ROBOTS));
}
