/**
 * A TCP relay in front of a fake replica: closing it drops every connection at once, which is
 * what callers of a crashed process see (no graceful HTTP answer, just a broken connection).
 */

/** Relays 127.0.0.1:`port` to 127.0.0.1:`targetPort` until closed. */
export class TcpProxy {
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();

  constructor(readonly targetPort: number, port = 0) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port });
    void this.#acceptAll();
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Stops listening and drops every relayed connection. */
  close(): void {
    closeQuietly(this.#listener);
    this.#conns.forEach(closeQuietly);
    this.#conns.clear();
  }

  async #acceptAll(): Promise<void> {
    try {
      for await (const conn of this.#listener) void this.#relay(conn);
    } catch {
      // The listener was closed.
    }
  }

  async #relay(conn: Deno.TcpConn): Promise<void> {
    this.#conns.add(conn);
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.targetPort });
    } catch {
      this.#conns.delete(conn);
      return closeQuietly(conn);
    }
    this.#conns.add(upstream);
    await Promise.allSettled([
      conn.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(conn.writable),
    ]);
    for (const c of [conn, upstream]) {
      this.#conns.delete(c);
      closeQuietly(c);
    }
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // Already closed by the other direction of the relay.
  }
}
