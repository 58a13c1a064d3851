/**
 * The dashboard's controls: calls to the supervisor's control endpoint through the UI
 * server's `/control/` proxy, with the token the operator typed in.
 */
import { busy, controlMessage, controlToken, processes } from "./state.ts";

/** Process actions the endpoint offers (scripts/control.ts). */
export type ProcessAction =
  | "kill"
  | "restart"
  | "start"
  | "pause"
  | "resume"
  | "partition"
  | "heal";

async function call(method: string, path: string, label: string): Promise<boolean> {
  if (busy.peek() !== null) return false;
  busy.value = label;
  try {
    const res = await fetch(`/control${path}`, {
      method,
      headers: { authorization: `Bearer ${controlToken.peek()}` },
      cache: "no-store",
    });
    const body = await res.json().catch(() => ({}));
    const error = typeof body?.error === "string" ? body.error : `HTTP ${res.status}`;
    controlMessage.value = res.ok
      ? { ok: true, text: `${label}: done${body?.note ? ` (${body.note})` : ""}` }
      : { ok: false, text: `${label}: ${error}` };
    return res.ok;
  } catch (e) {
    controlMessage.value = { ok: false, text: `${label}: ${(e as Error).message}` };
    return false;
  } finally {
    busy.value = null;
    void refreshProcesses();
  }
}

/** Runs `action` on the process `name`. */
export function act(action: ProcessAction, name: string): Promise<boolean> {
  return call("POST", `/${action}?target=${encodeURIComponent(name)}`, `${action} ${name}`);
}

/** Starts a new replica and adds it to the cluster (answers once it is a voter). */
export function addMember(): Promise<boolean> {
  return call("POST", "/members", "add member");
}

/** Removes `name` from the configuration, then the supervisor stops it. */
export function removeMember(name: string): Promise<boolean> {
  return call("DELETE", `/members/${encodeURIComponent(name)}`, `remove ${name}`);
}

/** Asks the supervisor which processes it runs; a wrong token says so. */
export async function refreshProcesses(): Promise<void> {
  if (controlToken.peek() === "") return;
  try {
    const res = await fetch("/control/replicas", {
      headers: { authorization: `Bearer ${controlToken.peek()}` },
      cache: "no-store",
    });
    if (res.status === 401) {
      controlMessage.value = { ok: false, text: "wrong control token" };
      processes.value = [];
      return;
    }
    if (res.ok) processes.value = await res.json();
  } catch { /* the UI server restarts: the next refresh tells */ }
}
