/** The status bar's wording, as a pure function of the state it reports. */
import type { ClusterStatus } from "../../protocol/mod.ts";

/** What the status bar reports. */
export interface StatusInput {
  connection: "connecting" | "open" | "reconnecting";
  cluster: ClusterStatus | null;
  pending: number;
  committed: number;
  error: string | null;
}

/** One piece of the bar: `key` names it for tests, `tone` colors its dot or text. */
export interface StatusPart {
  key: "connection" | "leader" | "pending" | "committed" | "error";
  text: string;
  tone: "ok" | "warn" | "bad" | "plain";
}

/** Builds the bar's pieces; says plainly when strokes are waiting and why. */
export function statusLine(s: StatusInput): StatusPart[] {
  const parts: StatusPart[] = [connectionPart(s.connection)];
  if (s.cluster) {
    const { leaderId, term } = s.cluster;
    const termText = term === null ? "" : ` · term ${term}`;
    parts.push(
      leaderId === null
        ? { key: "leader", text: `no leader (election)${termText}`, tone: "warn" }
        : { key: "leader", text: `leader ${leaderId}${termText}`, tone: "plain" },
    );
  }
  if (s.pending > 0) {
    const why = s.connection === "open" ? "waiting for the cluster" : "will resend on reconnect";
    parts.push({ key: "pending", text: `${s.pending} pending - ${why}`, tone: "warn" });
  }
  parts.push({ key: "committed", text: `${s.committed} committed`, tone: "plain" });
  if (s.error !== null) parts.push({ key: "error", text: s.error, tone: "bad" });
  return parts;
}

function connectionPart(c: StatusInput["connection"]): StatusPart {
  switch (c) {
    case "open":
      return { key: "connection", text: "connected", tone: "ok" };
    case "connecting":
      return { key: "connection", text: "connecting…", tone: "warn" };
    case "reconnecting":
      return { key: "connection", text: "reconnecting…", tone: "bad" };
  }
}

/** The saved-status text: "saved" only when nothing made here is still waiting for an ack. */
export function savedLine(unsaved: number): string {
  return unsaved === 0 ? "saved" : `${unsaved} pending`;
}
