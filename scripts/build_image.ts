/**
 * Builds the app image `whiteboard:local` for compose.yaml.
 *
 *   deno task image                    # local base from this machine's deno, no registry
 *   DENO_IMAGE=denoland/deno:2.9.6 deno task image   # on the official base instead
 *
 * Without DENO_IMAGE no image registry is needed: the base image
 * `whiteboard-deno-base:local` is imported from the real deno binary behind
 * `deno`, the glibc libraries `ldd` names, and a DENO_DIR holding the npm
 * packages of every entry point (copied from this machine's Deno cache; only
 * what is missing there is fetched). The app image is then built on it with
 * `--network none`, which proves the image needs no registry.
 */
import { sh } from "./compose_cluster.ts";

/** Name of the app image that compose.yaml runs. */
export const APP_IMAGE = "whiteboard:local";
/** Name of the base image imported from the local deno binary. */
export const BASE_IMAGE = "whiteboard-deno-base:local";
/** Every module a container runs (the Dockerfile caches the same list). */
export const ENTRY_POINTS = [
  "replica/main.ts",
  "gateway/main.ts",
  "ui/server.ts",
  "ui/build.ts",
  "ui/src/main.tsx",
  "ui/src/perf.ts",
  "scripts/http_probe.ts",
  "scripts/cluster_token.ts",
];
const ROOT = new URL("..", import.meta.url).pathname;

/** The shared libraries `ldd` lists for a binary (resolved paths, loader included). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const libs: string[] = [];
  for (const line of (await sh("ldd", [binary])).split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  if (!libs.some((l) => l.includes("ld-linux"))) throw new Error("ldd named no dynamic loader");
  return libs;
}

/** Copies `path` into the rootfs at `root` (at `target`, by default the same path). */
export async function copyInto(root: string, path: string, target = path): Promise<void> {
  const dest = `${root}${target}`;
  await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(path, dest); // follows symlinks: the soname path gets the real file
}

/** Fills `denoDir` with the npm packages: the host cache first, then `deno install` for the rest. */
async function prepareDenoDir(denoDir: string): Promise<void> {
  const info = JSON.parse(await sh("deno", ["info", "--json"]));
  const hostNpm = `${info.denoDir}/npm`;
  await Deno.mkdir(denoDir, { recursive: true });
  try {
    await sh("cp", ["-a", hostNpm, `${denoDir}/npm`]);
  } catch {
    console.log(`  (no npm cache at ${hostNpm}; deno install fetches everything)`);
  }
  await sh("deno", ["install", "--entrypoint", ...ENTRY_POINTS.map((e) => ROOT + e)], {
    DENO_DIR: denoDir,
  });
}

/** Imports the base image from the local deno binary (a rootfs tarball fed to `docker import`). */
async function buildBase(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "whiteboard-base-" });
  try {
    const rootfs = `${dir}/rootfs`;
    const deno = await Deno.realPath(Deno.execPath());
    await copyInto(rootfs, deno, "/usr/bin/deno");
    for (const lib of await sharedLibraries(deno)) await copyInto(rootfs, lib);
    await Deno.mkdir(`${rootfs}/tmp`, { recursive: true, mode: 0o1777 });
    await Deno.chmod(`${rootfs}/tmp`, 0o1777);
    await Deno.mkdir(`${rootfs}/etc`, { recursive: true });
    await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/root:/usr/bin/deno\n");
    await Deno.writeTextFile(`${rootfs}/etc/group`, "root:x:0:\n");
    await Deno.mkdir(`${rootfs}/root`, { recursive: true });
    await prepareDenoDir(`${rootfs}/deno-dir`);
    await sh("tar", ["-C", rootfs, "-cf", `${dir}/rootfs.tar`, "."]);
    await sh("docker", [
      "import",
      "--change",
      "ENV PATH=/usr/bin:/bin DENO_DIR=/deno-dir",
      "--change",
      'ENTRYPOINT ["/usr/bin/deno"]',
      `${dir}/rootfs.tar`,
      BASE_IMAGE,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Builds the base (unless DENO_IMAGE names one) and the app image. */
export async function buildImage(log: (line: string) => void = console.log): Promise<void> {
  const official = Deno.env.get("DENO_IMAGE");
  const started = performance.now();
  if (!official) {
    log(`image: importing ${BASE_IMAGE} from ${await Deno.realPath(Deno.execPath())}`);
    await buildBase();
  }
  const base = official ?? BASE_IMAGE;
  log(`image: building ${APP_IMAGE} on ${base}${official ? "" : " with --network none"}`);
  await sh("docker", [
    "build",
    ...(official ? [] : ["--network", "none"]),
    "--build-arg",
    `DENO_IMAGE=${base}`,
    "-t",
    APP_IMAGE,
    ROOT,
  ]);
  const size = Number(await sh("docker", ["image", "inspect", "-f", "{{.Size}}", APP_IMAGE]));
  log(
    `image: ${APP_IMAGE} ready (${(size / 1e6).toFixed(0)} MB) in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
}

if (import.meta.main) {
  try {
    await buildImage();
  } catch (e) {
    console.error(`image: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
