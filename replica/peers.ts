/**
 * Which replica answers at which configured URL. `PEERS` lists plain URLs
 * (CONTRACT.md), so a replica starts knowing only where its peers are. The
 * core counts every configured peer from the first tick (a quorum of three
 * is two, also while one peer is down and unnamed) under a placeholder key,
 * its URL, until the peer says who it is: its open `GET /status` names it.
 * Then the core is told (`onLearnt`) and the peer is known by its id.
 *
 * Nothing is sent to a placeholder, so no answer can ever come back under
 * one, and a vote or an ack is only ever recorded under a real id.
 *
 * Members added later (or named by a configuration this replica restarted
 * with) are reached at the URL the configuration gives (`members`); a wiped
 * replica learns URLs of members beyond PEERS from probe answers (`remember`).
 */
import { ConfigError } from "../common/config.ts";
import type { PeerSpec } from "./config.ts";
import type { Member } from "../protocol/mod.ts";

/** Asks a URL which replica it is: its id, or null when it does not answer. */
export type WhoIs = (url: string) => Promise<string | null>;

/** Learns peer ids at run time and maps core keys (ids, or URLs until learnt) to URLs. */
export class PeerDirectory {
  readonly #urlByKey = new Map<string, string>();
  readonly #pending = new Set<string>();
  readonly #lastAsked = new Map<string, number>();
  /** URLs of members named by probe answers (a wiped replica's configuration predates them). */
  readonly #remembered = new Map<string, string>();
  /** The configuration in force (the core's), read at each lookup. */
  #members: () => readonly Member[] = () => [];
  #round: Promise<void> | null = null;

  constructor(
    private readonly self: { id: string; url: string },
    specs: PeerSpec[],
    private readonly whoIs: WhoIs,
    /** Called once per peer, when its id is learnt. */
    private readonly onLearnt: (url: string, id: string) => void,
    /** A peer's answer shows the configuration is wrong (PEERS names this replica, or one twice). */
    private readonly onBadConfig: (e: ConfigError) => void,
    /** Least time between two questions to the same URL. */
    private readonly retryMs: number,
    private readonly now: () => number = Date.now,
  ) {
    for (const p of specs) {
      this.#urlByKey.set(p.id ?? p.url, p.url);
      if (p.id === null) this.#pending.add(p.url);
    }
  }

  /** The keys the core starts with: ids where `id=URL` named them, URLs elsewhere. */
  keys(): string[] {
    return [...this.#urlByKey.keys()];
  }

  /**
   * Where a core key (or this replica's id) is reached: at its PEERS URL
   * (how this host reaches it), else at the URL the configuration gives.
   */
  urlOf(key: string): string | undefined {
    if (key === this.self.id) return this.self.url;
    return this.#urlByKey.get(key) ?? this.#members().find((m) => m.id === key)?.url ??
      this.#remembered.get(key);
  }

  /** URLs of every peer: those PEERS gives and those of the configuration's other members. */
  peerUrls(): Set<string> {
    const urls = new Set(this.#urlByKey.values());
    for (const m of this.#members()) {
      if (m.id !== this.self.id && !this.#urlByKey.has(m.id)) urls.add(this.urlOf(m.id)!);
    }
    urls.delete(this.self.url);
    return urls;
  }

  /** True for a peer whose id and URL are known. */
  isPeer(id: string): boolean {
    return !this.#pending.has(id) && id !== this.self.id && this.urlOf(id) !== undefined;
  }

  /** Reads the configuration in force from `members` (the core's) from now on. */
  followMembers(members: () => readonly Member[]): void {
    this.#members = members;
  }

  /** URLs of members a probe answer named. */
  remember(members: readonly Member[]): void {
    for (const m of members) {
      if (m.id !== this.self.id && !this.#urlByKey.has(m.id)) this.#remembered.set(m.id, m.url);
    }
  }

  /** True while the key is a placeholder (nothing may be sent to it). */
  isPlaceholder(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Asks every unnamed URL who it is (one round at a time, each URL at most every `retryMs`). */
  learn(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    this.#round ??= this.#ask().catch((e) => {
      if (!(e instanceof ConfigError)) throw e;
      this.onBadConfig(e);
    }).finally(() => this.#round = null);
    return this.#round;
  }

  async #ask(): Promise<void> {
    const due = [...this.#pending].filter((u) =>
      this.now() - (this.#lastAsked.get(u) ?? -Infinity) >= this.retryMs
    );
    for (const u of due) this.#lastAsked.set(u, this.now());
    const answers = await Promise.all(due.map(async (u) => [u, await this.whoIs(u)] as const));
    for (const [u, id] of answers) if (id !== null) this.#learnt(u, id);
  }

  #learnt(url: string, id: string): void {
    if (!this.#pending.has(url)) return;
    if (id === this.self.id) {
      throw new ConfigError(`PEERS lists this replica itself (${url} answers as ${id})`);
    }
    const other = this.#urlByKey.get(id);
    if (other !== undefined) {
      throw new ConfigError(`PEERS: ${other} and ${url} are both ${id}`);
    }
    this.onLearnt(url, id);
    this.#pending.delete(url);
    this.#urlByKey.delete(url);
    this.#urlByKey.set(id, url);
  }
}
