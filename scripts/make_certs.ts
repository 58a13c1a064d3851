/**
 * A local certificate authority and one server certificate for the replicas and the gateway,
 * made with openssl, for `https://` and `wss://` (README, "TLS"):
 *
 *   deno task certs [DIR] [HOST...]     # DIR .certs; hosts localhost 127.0.0.1 ::1 by default
 *
 * Writes DIR/ca.pem (trust it: DENO_CERT=DIR/ca.pem), DIR/cert.pem and DIR/key.pem (serve with
 * them: TLS_CERT, TLS_KEY). The one certificate names every host given, so all processes may
 * share it; the CA key stays in DIR/ca.key to sign more later. An existing DIR is overwritten.
 */

/** The files `makeCerts` writes. */
export interface CertFiles {
  /** The CA certificate: what clients trust. */
  ca: string;
  /** The server certificate (signed by the CA) and its key. */
  cert: string;
  key: string;
}

/** Hosts a certificate made without arguments is valid for. */
export const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];

async function openssl(args: string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("openssl is not installed (apt-get install -y openssl)");
    }
    throw e;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`openssl ${args[0]} failed: ${err}`);
  }
}

/** `IP:` for addresses, `DNS:` for names: rustls checks an IP URL against IP entries only. */
function subjectAltName(hosts: readonly string[]): string {
  return hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(":") ? `IP:${h}` : `DNS:${h}`))
    .join(",");
}

/** Makes the CA and a server certificate for `hosts` in `dir` (created). */
export async function makeCerts(dir: string, hosts: readonly string[] = DEFAULT_HOSTS) {
  if (hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.:_-]+$/.test(h))) {
    throw new Error(`hosts must be names or addresses, got "${hosts.join(" ")}"`);
  }
  await Deno.mkdir(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "825",
    "-subj",
    "/CN=whiteboard local CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "key.pem",
    "-out",
    "server.csr",
    "-subj",
    "/CN=whiteboard",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      `subjectAltName=${subjectAltName(hosts)}`,
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
    ].join("\n") + "\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "825",
    "-extfile",
    "server.ext",
  ], dir);
  await Deno.chmod(`${dir}/key.pem`, 0o600);
  await Deno.chmod(`${dir}/ca.key`, 0o600);
  return { ca: `${dir}/ca.pem`, cert: `${dir}/cert.pem`, key: `${dir}/key.pem` } as CertFiles;
}

if (import.meta.main) {
  const [dir = ".certs", ...hosts] = Deno.args;
  try {
    const files = await makeCerts(dir, hosts.length ? hosts : DEFAULT_HOSTS);
    console.log(`certs: CA ${files.ca}, certificate ${files.cert}, key ${files.key}`);
    console.log(
      `certs: serve with TLS_CERT=${files.cert} TLS_KEY=${files.key}, trust with DENO_CERT=${files.ca}`,
    );
  } catch (e) {
    console.error(`certs: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
