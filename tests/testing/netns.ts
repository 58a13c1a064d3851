/**
 * Separate "hosts" on one machine: a network namespace per host, each with its own address
 * (10.77.0.N/24) on a veth pair to a bridge in the root namespace, whose side of the bridge
 * is 10.77.0.254 (where the gateway and the scripts run). Cuts are iptables DROP rules inside
 * a host's namespace, as a firewall on that machine would do. Needs root (`ip`, `iptables`).
 * `teardown` removes namespaces, links and rules whatever state a failed run left.
 */

/** The bridge in the root namespace and its address there. */
const BRIDGE = "wbbr0";
const PREFIX = "10.77.0";
/** Address of the root namespace on the bridge. */
export const ROOT_ADDR = `${PREFIX}.254`;

/** One simulated host. */
export interface Host {
  name: string;
  ns: string;
  addr: string;
}

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

async function tryRun(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args).catch(() => {});
}

/** The root namespace's rule that lets hosts on the bridge talk (docker sets FORWARD to DROP). */
const FORWARD_RULE = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"];

/** A set of hosts on one bridge. */
export class NetnsLab {
  readonly hosts: Host[];

  constructor(count: number, readonly tag = "wb") {
    this.hosts = Array.from({ length: count }, (_, i) => ({
      name: `replica${i + 1}`,
      ns: `${tag}-h${i + 1}`,
      addr: `${PREFIX}.${i + 1}`,
    }));
  }

  /** The command prefix that runs a program on `host`. */
  exec(host: Host): string[] {
    return ["ip", "netns", "exec", host.ns];
  }

  /** Creates the bridge, the namespaces and their links; removes leftovers first. */
  async setup(): Promise<void> {
    await this.teardown();
    await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
    await run("ip", ["addr", "add", `${ROOT_ADDR}/24`, "dev", BRIDGE]);
    await run("ip", ["link", "set", BRIDGE, "up"]);
    await run("iptables", ["-I", ...FORWARD_RULE]);
    for (const [i, h] of this.hosts.entries()) {
      const outside = `${this.tag}v${i + 1}`;
      await run("ip", ["netns", "add", h.ns]);
      await run("ip", ["link", "add", outside, "type", "veth", "peer", "name", `${outside}p`]);
      await run("ip", ["link", "set", `${outside}p`, "netns", h.ns]);
      await run("ip", ["link", "set", outside, "master", BRIDGE, "up"]);
      const inNs = (...args: string[]) => run("ip", ["netns", "exec", h.ns, "ip", ...args]);
      await inNs("link", "set", `${outside}p`, "name", "eth0");
      await inNs("addr", "add", `${h.addr}/24`, "dev", "eth0");
      await inNs("link", "set", "eth0", "up");
      await inNs("link", "set", "lo", "up");
    }
  }

  /** Drops every packet between `host` and `from` (both directions), inside `host`'s namespace. */
  async cut(host: Host, from: Host[]): Promise<void> {
    for (const other of from) {
      await run("ip", [
        "netns",
        "exec",
        host.ns,
        "iptables",
        "-A",
        "INPUT",
        "-s",
        other.addr,
        "-j",
        "DROP",
      ]);
      await run("ip", [
        "netns",
        "exec",
        host.ns,
        "iptables",
        "-A",
        "OUTPUT",
        "-d",
        other.addr,
        "-j",
        "DROP",
      ]);
    }
  }

  /** The rules in force in `host`'s namespace (`iptables -S`). */
  async rules(host: Host): Promise<string[]> {
    const text = await run("ip", ["netns", "exec", host.ns, "iptables", "-S"]);
    return text.trim().split("\n").filter((l) => !l.startsWith("-P"));
  }

  /** Removes every rule in `host`'s namespace. */
  async heal(host: Host): Promise<void> {
    await run("ip", ["netns", "exec", host.ns, "iptables", "-F"]);
  }

  /** Deletes namespaces (their veth ends go with them), the bridge and the FORWARD rule. */
  async teardown(): Promise<void> {
    for (const [i, h] of this.hosts.entries()) {
      await tryRun("ip", ["netns", "exec", h.ns, "iptables", "-F"]);
      await tryRun("ip", ["netns", "del", h.ns]);
      await tryRun("ip", ["link", "del", `${this.tag}v${i + 1}`]);
    }
    await tryRun("ip", ["link", "del", BRIDGE]);
    // Every copy of the rule (a crashed run may have left one).
    for (let i = 0; i < 5; i++) {
      const had = await run("iptables", ["-D", ...FORWARD_RULE]).then(() => true, () => false);
      if (!had) break;
    }
  }

  /** What is left of this lab (empty after teardown). */
  async leftovers(): Promise<string[]> {
    const ns = (await run("ip", ["netns", "list"])).split("\n")
      .filter((l) => this.hosts.some((h) => l.startsWith(h.ns + " ") || l === h.ns));
    const links = (await run("ip", ["-o", "link", "show"])).split("\n")
      .filter((l) => l.includes(`${BRIDGE}:`) || new RegExp(`\\b${this.tag}v\\d`).test(l));
    const fwd = (await run("iptables", ["-S", "FORWARD"])).split("\n")
      .filter((l) => l.includes(BRIDGE));
    return [...ns, ...links, ...fwd].filter((l) => l.trim() !== "");
  }
}
