/**
 * A TCP proxy on 127.0.0.1 that cuts the connection once: after `breakAfter`
 * bytes have gone from client to server, both sockets are closed mid-stream,
 * as a dying link would. Every later connection passes untouched.
 */
export interface BreakProxy {
  port: number;
  broke(): boolean;
  close(): Promise<void>;
}

export function breakProxy(targetPort: number, breakAfter: number): BreakProxy {
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
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(client).add(server);
      const pair = [client, server];
      pipe(client, server, true, pair);
      pipe(server, client, false, pair);
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
