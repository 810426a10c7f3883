import { join } from "node:path";

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** A self-signed certificate for 127.0.0.1, made with openssl, for the HTTPS shape. */
export function makeCertificate(dir: string): CertificateFiles {
  const certFile = join(dir, "bench-cert.pem");
  const keyFile = join(dir, "bench-key.pem");
  const result = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (result.exitCode !== 0) throw new Error(`openssl failed: ${result.stderr.toString()}`);
  return { certFile, keyFile };
}
