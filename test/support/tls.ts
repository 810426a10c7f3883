import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { tempDir } from "./service";

export interface CertificatePair {
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint as node:tls reports it (AA:BB:…). */
  fingerprint: string;
}

// A fresh P-256 key (quick to make), unencrypted, written to the path that follows.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout"];

function openssl(args: string[], cwd: string): string {
  const result = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0)
    throw new Error(`openssl ${args.join(" ")} failed:\n${result.stderr.toString()}`);
  return result.stdout.toString();
}

/**
 * A certificate authority made for one test file with openssl, in a temporary folder. Clients in
 * the tests trust this CA only; the service gets certificates it issued for localhost.
 */
export class TestCa {
  readonly dir = tempDir("clicks-tls-");
  readonly certFile = join(this.dir, "ca.pem");
  private serial = 0;

  private constructor() {
    openssl(
      ["req", "-x509", ...NEW_KEY, "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=clicks test CA"],
      this.dir,
    );
  }

  static create(): TestCa {
    return new TestCa();
  }

  /** The CA certificate in PEM, for a client's trust store. */
  get pem(): string {
    return readFileSync(this.certFile, "utf8");
  }

  /**
   * A key and a certificate for localhost, 127.0.0.1 and ::1 (or for `hosts`, DNS names), written to
   * files named after `name`. With `chain`, the certificate file also holds the CA certificate after the leaf.
   */
  issue(name: string, { chain = false, hosts }: { chain?: boolean; hosts?: string[] } = {}): CertificatePair {
    this.serial += 1;
    const keyFile = join(this.dir, `${name}.key`);
    const certFile = join(this.dir, `${name}.pem`);
    const extensions = join(this.dir, `${name}.ext`);
    const names = hosts ? hosts.map((host) => `DNS:${host}`).join(",") : "DNS:localhost,IP:127.0.0.1,IP:::1";
    writeFileSync(extensions, `subjectAltName=${names}\n`);
    openssl(["req", ...NEW_KEY, keyFile, "-out", `${name}.csr`, "-subj", `/CN=${name}`], this.dir);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(this.serial),
        "-days",
        "1",
        "-extfile",
        extensions,
        "-out",
        certFile,
      ],
      this.dir,
    );
    if (chain) writeFileSync(certFile, readFileSync(certFile, "utf8") + this.pem);
    const fingerprint = openssl(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"], this.dir)
      .trim()
      .replace(/^.*=/, "");
    return { certFile, keyFile, fingerprint };
  }
}

/**
 * The fingerprint of the certificate a TLS server presents to a new connection that trusts `ca`;
 * with `proxyHeader`, the connection sends it first, as a proxy in front would.
 */
export function servedFingerprint(port: number, ca: string, proxyHeader?: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { ca, servername: "localhost" };
    let socket: tls.TLSSocket;
    const done = () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    };
    if (proxyHeader) {
      const raw = net.connect(port, "127.0.0.1", () => {
        raw.write(proxyHeader);
        socket = tls.connect({ ...options, socket: raw }, done);
        socket.on("error", reject);
      });
      raw.on("error", reject);
    } else {
      socket = tls.connect({ ...options, host: "127.0.0.1", port }, done);
      socket.on("error", reject);
    }
  });
}

/**
 * Runs `openssl s_client` limited to one protocol version (`-tls1_1`, `-tls1_2`, …) and says which
 * version was negotiated, or null when the handshake failed. SECLEVEL=0 lets OpenSSL 3 offer the
 * old versions at all.
 */
export async function negotiatedVersion(port: number, versionFlag: string): Promise<string | null> {
  const child = Bun.spawn(
    [
      "openssl",
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      versionFlag,
      "-cipher",
      "DEFAULT@SECLEVEL=0",
      "-servername",
      "localhost",
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => child.kill(), 10_000);
  const [output] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  clearTimeout(timer);
  // "Cipher is (NONE)" when the handshake failed. Up to TLS 1.2 the "New, …" line names the
  // cipher's version, not the connection's: the session's Protocol line names that (TLS 1.3
  // prints no session block before the client leaves, and there the "New, …" line is right).
  const handshake = /^New, (\S+), Cipher is (?!\(NONE\))/m.exec(output);
  if (!handshake) return null;
  return /^\s*Protocol\s*: (\S+)$/m.exec(output)?.[1] ?? (handshake[1] as string);
}
