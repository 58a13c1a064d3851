/**
 * Who this browser is: a stable user id (kept in localStorage, so undo history
 * and the outbox outlive a reload and are shared by the user's tabs), the
 * display name sent as `name=`, and an id for this tab (sessionStorage, so a
 * reload keeps it and the reloaded page knows its own outbox items).
 */
import { newClientId } from "./strokes.ts";
import type { KeyValueStore } from "./undo_stack.ts";
import { memoryStore } from "./undo_stack.ts";

const USER_KEY = "whiteboard.userId";
const NAME_KEY = "whiteboard.name";
const TAB_KEY = "whiteboard.tabId";
/** Longest name we send; the gateway cuts at 40 too (protocol MAX_NAME_LENGTH). */
const MAX_NAME = 40;

/** localStorage, or a memory stand-in where it is missing or denied (private modes, Deno tests). */
export function localStore(): KeyValueStore {
  return storageOr(() => globalThis.localStorage);
}

/** sessionStorage, or a memory stand-in. */
export function tabStore(): KeyValueStore {
  return storageOr(() => globalThis.sessionStorage);
}

function storageOr(get: () => Storage | undefined): KeyValueStore {
  try {
    const s = get();
    if (s) {
      const probe = "whiteboard.probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    }
  } catch { /* denied */ }
  return memoryStore();
}

function idFrom(store: KeyValueStore, key: string): string {
  const known = store.getItem(key);
  if (known !== null && /^[0-9a-f]{32}$/.test(known)) return known;
  const id = newClientId();
  store.setItem(key, id);
  return id;
}

/** This browser's user id: made once, then the same on every load and in every tab. */
export function userId(store: KeyValueStore = localStore()): string {
  return idFrom(store, USER_KEY);
}

/** This tab's id: the same across reloads of the tab, another in another tab. */
export function tabId(store: KeyValueStore = tabStore()): string {
  return idFrom(store, TAB_KEY);
}

/** A new id for this tab (a duplicated tab copied the original's). */
export function freshTabId(store: KeyValueStore = tabStore()): string {
  const id = newClientId();
  store.setItem(TAB_KEY, id);
  return id;
}

/**
 * The name to connect with: `?name=` in the page URL (remembered), else the
 * one remembered from an earlier visit, else null (the gateway picks one).
 */
export function displayName(page: URL, store: KeyValueStore = localStore()): string | null {
  const fromUrl = page.searchParams.get("name")?.trim().slice(0, MAX_NAME);
  if (fromUrl) {
    store.setItem(NAME_KEY, fromUrl);
    return fromUrl;
  }
  const kept = store.getItem(NAME_KEY);
  return kept !== null && kept.trim() !== "" ? kept : null;
}

/** Remembers a name for the next visits (the gateway's pick after the first hello, or the user's). */
export function rememberName(name: string, store: KeyValueStore = localStore()): void {
  const clean = name.trim().slice(0, MAX_NAME);
  if (clean !== "") store.setItem(NAME_KEY, clean);
}
