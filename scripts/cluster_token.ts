/**
 * Writes the cluster token into a file the compose services share (CLUSTER_TOKEN_FILE):
 * compose.yaml runs it once, as the `cluster-token` service, before any replica starts.
 *
 *   deno run --allow-env=CLUSTER_TOKEN --allow-read=DIR --allow-write=DIR scripts/cluster_token.ts FILE
 *
 * CLUSTER_TOKEN from the environment wins and is written as is; otherwise a token already in
 * the file is kept (so containers recreated later agree with those still running), else a
 * random one is generated. The token itself is never printed.
 */
import { ConfigError, envFrom, startOrExit, token } from "../common/config.ts";

/** 32 random bytes as hex. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What was done, for the one line the service prints. */
export async function ensureToken(file: string, fromEnv: string | null): Promise<string> {
  if (fromEnv !== null) {
    await Deno.writeTextFile(file, fromEnv + "\n", { mode: 0o600 });
    return `wrote CLUSTER_TOKEN from the environment into ${file}`;
  }
  try {
    if (token(envFrom({ CLUSTER_TOKEN_FILE: file })) !== null) return `kept the token in ${file}`;
  } catch (e) {
    // Missing, empty or unusable: replace it below.
    if (!(e instanceof ConfigError)) throw e;
  }
  await Deno.writeTextFile(file, randomToken() + "\n", { mode: 0o600 });
  return `generated a new token into ${file}`;
}

if (import.meta.main) {
  await startOrExit("cluster-token", async () => {
    const file = Deno.args[0];
    if (!file) throw new ConfigError("usage: cluster_token.ts FILE");
    console.log(
      `cluster-token: ${await ensureToken(
        file,
        token(envFrom({ CLUSTER_TOKEN: Deno.env.get("CLUSTER_TOKEN") })),
      )}`,
    );
  });
}
