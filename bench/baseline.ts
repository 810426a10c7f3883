/**
 * The physical limit the click path is measured against: a bare Bun.serve that answers every
 * request with the same 307 and does nothing else. With TLS_CERT_FILE/TLS_KEY_FILE and HTTPS_PORT
 * it also answers over HTTPS, as the service does.
 */
const LOCATION = "https://apps.apple.com/app/id000000000";

const port = Number(process.env.PORT);
const httpsPort = Number(process.env.HTTPS_PORT ?? 0);
const certFile = process.env.TLS_CERT_FILE;
const keyFile = process.env.TLS_KEY_FILE;

const redirect = () => new Response(null, { status: 307, headers: { location: LOCATION } });

Bun.serve({ port, hostname: "127.0.0.1", fetch: redirect });
if (httpsPort && certFile && keyFile) {
  Bun.serve({
    port: httpsPort,
    hostname: "127.0.0.1",
    tls: { cert: Bun.file(certFile), key: Bun.file(keyFile) },
    fetch: redirect,
  });
}
console.log("baseline is listening");
