/**
 * The client end of a WebSocket (RFC 6455), text messages only, on a TCP
 * connection with Nagle's algorithm off. Deno's own WebSocket client turns
 * TCP_NODELAY off on its socket (seen with strace), so with several
 * messages in flight each small one waited for the peer's ACK, which on a
 * replica comes with its next answer, after an fsync: 16 clients committed
 * half as many strokes over the stream as over POSTs. The server end is
 * Deno's (`Deno.upgradeWebSocket`), which sets TCP_NODELAY.
 *
 * What is kept small on purpose: no extensions, no subprotocols, messages
 * up to `maxMessageBytes` (a longer one closes the connection), fragments
 * reassembled, pings answered.
 */

import { concat, writeAll } from "../common/bytes.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP_CONT = 0, OP_TEXT = 1, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10;
const HANDSHAKE_LIMIT = 16 * 1024;

export interface WsClientEvents {
  onMessage(text: string): void;
  /** Once, whatever ended it (a close frame, an error, `close()`). */
  onClose(reason: string): void;
}

export class WsClient {
  #queue: Uint8Array[] = [];
  #writing = false;
  #closed = false;

  private constructor(private readonly conn: Deno.Conn, private readonly events: WsClientEvents) {}

  /**
   * Connects and upgrades; rejects if the server does not answer 101 with
   * the right accept key within `timeoutMs`.
   */
  static async connect(
    url: string,
    headers: Record<string, string>,
    timeoutMs: number,
    events: WsClientEvents,
    maxMessageBytes: number,
  ): Promise<WsClient> {
    const u = new URL(url);
    const tls = u.protocol === "wss:" || u.protocol === "https:";
    const port = Number(u.port || (tls ? 443 : 80));
    const hostname = u.hostname.replace(/^\[|\]$/g, "");
    // One deadline for the whole upgrade. Deno.connect takes no signal, and a
    // SYN into a partition waits minutes for the kernel: the race lets go of it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no upgrade within ${timeoutMs} ms`)), timeoutMs);
    });
    const within = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => {}); // what loses the race may fail later, unwatched
      return Promise.race([p, deadline]);
    };
    const connecting = Deno.connect({ hostname, port });
    let conn: Deno.Conn | undefined;
    try {
      const tcp = await within(connecting);
      conn = tcp;
      tcp.setNoDelay(true); // before TLS, which runs over this socket
      if (tls) conn = await within(Deno.startTls(tcp, { hostname }));
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      const lines = [
        `GET ${u.pathname}${u.search} HTTP/1.1`,
        `Host: ${u.host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      await within(writeAll(conn, new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n")));
      const { head, rest } = await within(readHead(conn));
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (status !== "101") throw new Error(`upgrade refused: HTTP ${status ?? "?"}`);
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
      if (accept !== await acceptFor(key)) throw new Error("wrong Sec-WebSocket-Accept");
      clearTimeout(timer);
      const ws = new WsClient(conn, events);
      ws.#read(rest, maxMessageBytes);
      return ws;
    } catch (e) {
      clearTimeout(timer);
      if (conn) {
        try {
          conn.close();
        } catch { /* closed already */ }
      } else connecting.then((late) => late.close(), () => {});
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues a text message. The messages of one turn of the event loop, and
   * those queued while a write is under way, go out in one write.
   */
  send(text: string): void {
    if (this.#closed) return;
    this.#queue.push(frame(OP_TEXT, new TextEncoder().encode(text)));
    this.#schedule();
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already */ }
    this.events.onClose(reason);
  }

  #schedule(): void {
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const parts = this.#queue;
        this.#queue = [];
        await writeAll(this.conn, parts.length === 1 ? parts[0] : concat(parts));
      }
    } catch (e) {
      this.close(`write failed: ${e}`);
    } finally {
      this.#writing = false;
    }
  }

  async #read(initial: Uint8Array, maxMessageBytes: number): Promise<void> {
    let buf = initial;
    const chunk = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let message: Uint8Array[] = [];
    let messageBytes = 0;
    let messageOp = OP_TEXT;
    try {
      for (;;) {
        const h = parseHeader(buf);
        if (h && h.length > maxMessageBytes) {
          return this.close(`frame over ${maxMessageBytes} bytes`);
        }
        if (h === null || buf.length < h.at + h.length) {
          const n = await this.conn.read(chunk);
          if (n === null) return this.close("connection closed by the peer");
          buf = buf.length === 0 ? chunk.slice(0, n) : concat([buf, chunk.subarray(0, n)]);
          continue;
        }
        const payload = buf.slice(h.at, h.at + h.length);
        buf = buf.subarray(h.at + h.length);
        if (h.op === OP_CLOSE) return this.close("close frame");
        if (h.op === OP_PING) {
          this.#queue.push(frame(OP_PONG, payload));
          this.#schedule();
          continue;
        }
        if (h.op === OP_PONG) continue;
        if (h.op !== OP_CONT) messageOp = h.op;
        message.push(payload);
        messageBytes += payload.length;
        if (messageBytes > maxMessageBytes) {
          return this.close(`message over ${maxMessageBytes} bytes`);
        }
        if (!h.fin) continue;
        const whole = message.length === 1 ? message[0] : concat(message);
        message = [];
        messageBytes = 0;
        if (messageOp !== OP_TEXT) return this.close("binary message");
        this.events.onMessage(decoder.decode(whole));
      }
    } catch (e) {
      this.close(`read failed: ${e}`);
    }
  }
}

/** One masked client frame (RFC 6455 5.2), FIN set. */
function frame(op: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const headerBytes = 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4;
  const out = new Uint8Array(headerBytes + n);
  out[0] = 0x80 | op;
  const view = new DataView(out.buffer);
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    view.setUint16(2, n);
  } else {
    out[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(n));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, headerBytes - 4);
  for (let i = 0; i < n; i++) out[headerBytes + i] = payload[i] ^ mask[i & 3];
  return out;
}

/** The header of the first frame in `buf` (from the server: unmasked), or null when incomplete. */
function parseHeader(
  buf: Uint8Array,
): { fin: boolean; op: number; length: number; at: number } | null {
  if (buf.length < 2) return null;
  if ((buf[1] & 0x80) !== 0) throw new Error("a server frame must not be masked");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const short = buf[1] & 0x7f;
  const at = short === 126 ? 4 : short === 127 ? 10 : 2;
  if (buf.length < at) return null;
  const length = short === 126
    ? view.getUint16(2)
    : short === 127
    ? Number(view.getBigUint64(2))
    : short;
  return { fin: (buf[0] & 0x80) !== 0, op: buf[0] & 0x0f, length, at };
}

async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let buf: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  for (;;) {
    const end = indexOfCrlfCrlf(buf);
    if (end >= 0) {
      return {
        head: new TextDecoder().decode(buf.subarray(0, end)),
        rest: buf.slice(end + 4),
      };
    }
    if (buf.length > HANDSHAKE_LIMIT) throw new Error("handshake answer too long");
    const n = await conn.read(chunk);
    if (n === null) throw new Error("closed during the handshake");
    buf = concat([buf, chunk.subarray(0, n)]);
  }
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
