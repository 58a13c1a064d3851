/**
 * Imports `whiteboard-haproxy:local` for compose.yaml's `lb` profile from this machine's HAProxy
 * (Debian's `haproxy`), for hosts without an image registry: the binary at the path the
 * official `haproxy` image uses (/usr/local/sbin/haproxy) and the libraries `ldd` names, as a
 * rootfs tarball fed to `docker import`. With a registry, `HAPROXY_IMAGE=haproxy:2.6` in
 * compose needs none of this.
 *
 *   deno task image:haproxy && HAPROXY_IMAGE=whiteboard-haproxy:local docker compose --profile lb up -d
 */
import { copyInto, sharedLibraries } from "./build_image.ts";
import { sh } from "./compose_cluster.ts";
import { haproxyPath } from "../tests/testing/haproxy.ts";

/** The image compose's `lb` service runs when HAPROXY_IMAGE names it. */
export const HAPROXY_IMAGE = "whiteboard-haproxy:local";

/** Builds the image; resolves with the HAProxy version it holds. */
export async function buildHaproxyImage(): Promise<string> {
  const bin = haproxyPath();
  if (!bin) throw new Error("haproxy is not installed (apt-get install haproxy)");
  const dir = await Deno.makeTempDir({ prefix: "whiteboard-haproxy-" });
  try {
    const rootfs = `${dir}/rootfs`;
    await copyInto(rootfs, await Deno.realPath(bin), "/usr/local/sbin/haproxy");
    for (const lib of await sharedLibraries(bin)) await copyInto(rootfs, lib);
    await Deno.mkdir(`${rootfs}/tmp`, { recursive: true });
    await Deno.chmod(`${rootfs}/tmp`, 0o1777);
    await Deno.mkdir(`${rootfs}/etc`, { recursive: true });
    await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/root:/bin/false\n");
    await Deno.writeTextFile(`${rootfs}/etc/group`, "root:x:0:\n");
    await Deno.mkdir(`${rootfs}/usr/local/etc/haproxy`, { recursive: true });
    await sh("tar", ["-C", rootfs, "-cf", `${dir}/rootfs.tar`, "."]);
    await sh("docker", [
      "import",
      "--change",
      "ENV PATH=/usr/local/sbin:/usr/bin:/bin",
      "--change",
      'CMD ["haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]',
      `${dir}/rootfs.tar`,
      HAPROXY_IMAGE,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return (await sh("docker", ["run", "--rm", "--network", "none", HAPROXY_IMAGE, "haproxy", "-v"]))
    .split("\n")[0];
}

if (import.meta.main) {
  try {
    console.log(`image:haproxy: ${HAPROXY_IMAGE} holds ${await buildHaproxyImage()}`);
  } catch (e) {
    console.error(`image:haproxy: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
