/**
 * View-only links: a token that names a board without revealing it and cannot be forged. It
 * is the board name sealed with AES-256-GCM under a key derived (HKDF-SHA-256) from the
 * cluster token, so every gateway of a cluster opens every other's tokens and no one without
 * the cluster token can make one. Without a cluster token the key is random per process:
 * links then work on that gateway until it restarts.
 */
import { isBoardName } from "../protocol/mod.ts";

const IV_BYTES = 12;
/** Bumped if the sealed format changes; a token of another version does not open. */
const VERSION = "v1:";
const INFO = new TextEncoder().encode("whiteboard view-link v1");

/** Seals and opens view tokens; one per gateway. */
export class ViewTokens {
  readonly #key: Promise<CryptoKey>;

  constructor(clusterToken?: string | null) {
    const secret = clusterToken
      ? new TextEncoder().encode(clusterToken)
      : crypto.getRandomValues(new Uint8Array(32));
    this.#key = crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]).then((base) =>
      crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: INFO },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      )
    );
  }

  /** A fresh token for `board` (a new random IV each time, so two links do not match). */
  async seal(board: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const plain = new TextEncoder().encode(VERSION + board);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await this.#key, plain);
    const bytes = new Uint8Array(IV_BYTES + sealed.byteLength);
    bytes.set(iv);
    bytes.set(new Uint8Array(sealed), IV_BYTES);
    return toBase64Url(bytes);
  }

  /** The board a token names, or null for anything this cluster did not seal. */
  async open(token: string): Promise<string | null> {
    // A board name is at most 64 chars: a real token is far below this.
    if (token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const bytes = fromBase64Url(token);
    if (bytes === null || bytes.length <= IV_BYTES + 16) return null;
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES) },
        await this.#key,
        bytes.slice(IV_BYTES),
      );
      const text = new TextDecoder().decode(plain);
      const board = text.startsWith(VERSION) ? text.slice(VERSION.length) : null;
      return isBoardName(board) ? board : null;
    } catch {
      return null; // the tag did not verify: forged, altered or another cluster's
    }
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  try {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
