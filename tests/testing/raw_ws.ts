/**
 * A bare TCP WebSocket client for tests: it completes the handshake and then reads only when
 * told to, which is how a client that never reads looks to the server.
 */

/** A raw connection after the 101 handshake. */
export class RawWsClient {
  #pending = new Uint8Array(0);

  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects and sends the upgrade request; reads only the response headers. */
  static async connect(port: number, path: string): Promise<RawWsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const client = new RawWsClient(conn);
    const head = await client.#readHeaders();
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`handshake failed: ${head}`);
    return client;
  }

  /** Reads frames until a close frame; returns its code and how many data bytes came before. */
  async readUntilClose(): Promise<{ code: number | null; dataBytes: number }> {
    let dataBytes = 0;
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const frame = this.#nextFrame();
      if (frame) {
        if (frame.opcode === 8) {
          const code = frame.payload.length >= 2
            ? (frame.payload[0] << 8) | frame.payload[1]
            : null;
          return { code, dataBytes };
        }
        dataBytes += frame.payload.length;
        continue;
      }
      const n = await this.conn.read(chunk);
      if (n === null) return { code: null, dataBytes };
      this.#append(chunk.subarray(0, n));
    }
  }

  /** The next text message, or null once the server closed; reads only when called. */
  async nextText(): Promise<string | null> {
    const chunk = new Uint8Array(1 << 16);
    for (;;) {
      const frame = this.#nextFrame();
      if (frame?.opcode === 8) return null;
      if (frame?.opcode === 1) return new TextDecoder().decode(frame.payload);
      if (frame) continue; // pings and the like
      const n = await this.conn.read(chunk);
      if (n === null) return null;
      this.#append(chunk.subarray(0, n));
    }
  }

  /** Drops the TCP connection. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #readHeaders(): Promise<string> {
    const chunk = new Uint8Array(4096);
    for (;;) {
      const text = new TextDecoder().decode(this.#pending);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        this.#pending = this.#pending.slice(
          new TextEncoder().encode(text.slice(0, end + 4)).length,
        );
        return text.slice(0, end);
      }
      const n = await this.conn.read(chunk);
      if (n === null) throw new Error("connection closed during handshake");
      this.#append(chunk.subarray(0, n));
    }
  }

  #append(bytes: Uint8Array): void {
    const next = new Uint8Array(this.#pending.length + bytes.length);
    next.set(this.#pending);
    next.set(bytes, this.#pending.length);
    this.#pending = next;
  }

  /** Parses one unmasked server frame from the buffer, or null if it is not complete yet. */
  #nextFrame(): { opcode: number; payload: Uint8Array } | null {
    const b = this.#pending;
    if (b.length < 2) return null;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    if (b.length < offset + length) return null;
    const payload = b.slice(offset, offset + length);
    this.#pending = b.slice(offset + length);
    return { opcode: b[0] & 0x0f, payload };
  }
}
