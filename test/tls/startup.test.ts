import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TlsFileError } from "../../src/http/tls";
import { databaseWithLinks } from "../support/links";
import { freePort } from "../support/ports";
import { startTestService, tempDir } from "../support/service";
import { TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const ca = TestCa.create();
const good = ca.issue("good");
const other = ca.issue("other");

function startWith(certFile: string, keyFile: string) {
  return startTestService({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, HTTPS_PORT: String(freePort()) });
}

function encryptedKey(): string {
  const path = join(ca.dir, "encrypted.key");
  const result = Bun.spawnSync(
    ["openssl", "pkey", "-in", good.keyFile, "-aes256", "-passout", "pass:secret", "-out", path],
    { stderr: "pipe" },
  );
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
  return path;
}

describe("a certificate that cannot be served stops the start with a clear message", () => {
  const garbage = join(ca.dir, "garbage.pem");
  writeFileSync(garbage, "this is not PEM\n");
  const missing = join(ca.dir, "missing.pem");

  const cases: Array<[string, () => [string, string], RegExp]> = [
    [
      "missing certificate file",
      () => [missing, good.keyFile],
      /^TLS_CERT_FILE=.*missing\.pem: cannot read the file \(ENOENT\)$/,
    ],
    [
      "missing key file",
      () => [good.certFile, missing],
      /^TLS_KEY_FILE=.*missing\.pem: cannot read the file \(ENOENT\)$/,
    ],
    [
      "certificate file without a certificate",
      () => [garbage, good.keyFile],
      /^TLS_CERT_FILE=.*garbage\.pem: holds no PEM certificate$/,
    ],
    [
      "unreadable key",
      () => [good.certFile, garbage],
      /^TLS_KEY_FILE=.*garbage\.pem: not a readable unencrypted PEM private key/,
    ],
    [
      "encrypted key",
      () => [good.certFile, encryptedKey()],
      /^TLS_KEY_FILE=.*encrypted\.key: not a readable unencrypted PEM private key/,
    ],
    [
      "key of another certificate",
      () => [good.certFile, other.keyFile],
      /^TLS_KEY_FILE=.*other\.key: this key does not match the certificate in TLS_CERT_FILE=.*good\.pem \(CN=good\)$/,
    ],
  ];

  for (const [name, files, message] of cases) {
    test(name, async () => {
      const [certFile, keyFile] = files();
      const failure = await startWith(certFile, keyFile).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(TlsFileError);
      expect((failure as Error).message).toMatch(message);
    });
  }

  test("the process exits 1 and its log names the problem", async () => {
    const port = freePort();
    const child = Bun.spawn(["bun", join(import.meta.dir, "..", "..", "src", "main.ts")], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATA_DIR: tempDir(),
        TLS_CERT_FILE: good.certFile,
        TLS_KEY_FILE: other.keyFile,
        HTTPS_PORT: String(freePort()),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stdout] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    expect(code).toBe(1);
    const line = JSON.parse(stdout.trim().split("\n").at(-1) as string);
    expect(line.msg).toBe("clicks could not start");
    expect(line.err.message).toContain("this key does not match the certificate");
  });
});

describe("a taken HTTPS_PORT stops the start, and nothing of it stays open", () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await databaseWithLinks([]);
  });

  for (const proxyProtocol of ["off", "v2"]) {
    test(`PROXY_PROTOCOL=${proxyProtocol}`, async () => {
      const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      const port = freePort();
      try {
        const failure = await startTestService({
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          TLS_CERT_FILE: good.certFile,
          TLS_KEY_FILE: good.keyFile,
          HTTPS_PORT: String(taken.port),
          PROXY_PROTOCOL: proxyProtocol,
        }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(Error);
        // PORT was opened before HTTPS_PORT failed: it is free again.
        const again = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
        again.stop(true);
      } finally {
        taken.stop(true);
      }
    });
  }
});
