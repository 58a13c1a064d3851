/**
 * `deno task image:prometheus`: a local image `whiteboard-prometheus:local` from Debian's
 * `/usr/bin/prometheus` (the binary and the libraries `ldd` names, `docker import`), for the
 * compose `metrics` profile where no registry is reachable:
 *
 *   deno task image:prometheus
 *   PROMETHEUS_IMAGE=whiteboard-prometheus:local docker compose --profile metrics up -d
 */
import { copyInto, sharedLibraries } from "./build_image.ts";
import { sh } from "./compose_cluster.ts";

/** The image this script makes. */
export const PROMETHEUS_LOCAL_IMAGE = "whiteboard-prometheus:local";
const BINARY = "/usr/bin/prometheus";

async function build(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "whiteboard-prometheus-" });
  try {
    const rootfs = `${dir}/rootfs`;
    await copyInto(rootfs, BINARY);
    for (const lib of await sharedLibraries(BINARY)) await copyInto(rootfs, lib);
    for (const d of ["tmp", "prometheus", "etc/prometheus"]) {
      await Deno.mkdir(`${rootfs}/${d}`, { recursive: true });
    }
    await Deno.chmod(`${rootfs}/tmp`, 0o1777);
    await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/prometheus:/bin/false\n");
    await Deno.writeTextFile(`${rootfs}/etc/group`, "root:x:0:\n");
    await sh("tar", ["-C", rootfs, "-cf", `${dir}/rootfs.tar`, "."]);
    await sh("docker", [
      "import",
      "--change",
      'ENTRYPOINT ["/usr/bin/prometheus"]',
      "--change",
      "WORKDIR /prometheus",
      `${dir}/rootfs.tar`,
      PROMETHEUS_LOCAL_IMAGE,
    ]);
    console.log(`image: ${PROMETHEUS_LOCAL_IMAGE} from ${BINARY}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await build().catch((e) => {
    console.error(`image:prometheus: ${(e as Error).message}`);
    Deno.exit(1);
  });
}
