/**
 * A TCP proxy on 127.0.0.1 that cuts the connection once: after `after`
 * bytes have gone in one direction (`request`: client to server; `response`:
 * server to client), both sockets are closed mid-stream, as a dying link
 * would. Then the next `refuse` connections are closed as soon as they are
 * accepted (a link still down: Deno's fetch sends a POST cut this way again
 * by itself, which would hide the cut from the caller). Every later
 * connection passes untouched.
 */
export interface BreakProxy {
  port: number;
  broke(): boolean;
  close(): Promise<void>;
}

export function breakProxy(
  targetPort: number,
  cut: { direction: "request" | "response"; after: number; refuse?: number },
): BreakProxy {
  const breakAfter = cut.after;
  let refuse = cut.refuse ?? 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let forwarded = 0;
  let broken = false;
  const shut = (c: Deno.Conn) => {
    if (open.delete(c)) c.close();
  };

  async function pipe(from: Deno.Conn, to: Deno.Conn, counts: boolean, pair: Deno.Conn[]) {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        let chunk = buf.subarray(0, n);
        if (counts && !broken && forwarded + n >= breakAfter) {
          chunk = chunk.subarray(0, breakAfter - forwarded);
          await to.write(chunk);
          broken = true;
          break;
        }
        if (counts) forwarded += n;
        let done = 0;
        while (done < chunk.length) done += await to.write(chunk.subarray(done));
      }
    } catch { /* the other side is gone */ }
    pair.forEach(shut);
  }

  (async () => {
    for await (const client of listener) {
      if (broken && refuse > 0) {
        refuse--;
        client.close();
        continue;
      }
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(client).add(server);
      const pair = [client, server];
      pipe(client, server, cut.direction === "request", pair);
      pipe(server, client, cut.direction === "response", pair);
    }
  })().catch(() => {});

  return {
    port: (listener.addr as Deno.NetAddr).port,
    broke: () => broken,
    close: async () => {
      listener.close();
      [...open].forEach(shut);
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}
