import { constants, createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TLSOptions } from "bun";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate (with its chain) and its key, read and checked, ready to serve. */
export interface TlsMaterial {
  cert: string;
  key: string;
  /** For logs: which certificate is being served. */
  subject: string;
  validTo: string;
  fingerprint: string;
}

/** A certificate pair that cannot be served; the message names the file and what is wrong. */
export class TlsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsFileError";
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readText(variable: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new TlsFileError(`${variable}=${path}: cannot read the file (${code})`);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads TLS_CERT_FILE and TLS_KEY_FILE and checks them before anything is served: every PEM
 * certificate in the certificate file parses, the key parses (unencrypted), and the key belongs
 * to the first certificate. Throws a TlsFileError saying which file is wrong and how.
 */
export function readTlsFiles({ certFile, keyFile }: TlsFiles): TlsMaterial {
  const cert = readText("TLS_CERT_FILE", certFile);
  const key = readText("TLS_KEY_FILE", keyFile);
  const pems = cert.match(PEM_CERTIFICATE);
  if (!pems) throw new TlsFileError(`TLS_CERT_FILE=${certFile}: holds no PEM certificate`);
  const chain = pems.map((pem, index) => {
    try {
      return new X509Certificate(pem);
    } catch (error) {
      throw new TlsFileError(
        `TLS_CERT_FILE=${certFile}: certificate ${index + 1} does not parse (${reason(error)})`,
      );
    }
  });
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsFileError(
      `TLS_KEY_FILE=${keyFile}: not a readable unencrypted PEM private key (${reason(error)})`,
    );
  }
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError(
      `TLS_KEY_FILE=${keyFile}: this key does not match the certificate in TLS_CERT_FILE=${certFile} (${leaf.subject})`,
    );
  }
  return {
    cert,
    key,
    subject: leaf.subject.replaceAll("\n", ", "),
    validTo: leaf.validToDate.toISOString(),
    fingerprint: leaf.fingerprint256,
  };
}

/** Whether two reads of the files found the same pair (a renewal changes at least one). */
export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert === b.cert && a.key === b.key;
}

/**
 * Bun.serve's TLS options. Bun 1.4.5 already refuses TLS 1.0 and 1.1 by default; the options
 * say so explicitly, so that a change of default cannot lower the floor unnoticed.
 */
export function tlsOptions(material: TlsMaterial): TLSOptions {
  return {
    cert: material.cert,
    key: material.key,
    secureOptions: constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1,
  };
}
