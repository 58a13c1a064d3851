/** One row per replica: what the gateway last heard from it, and its controls when on. */
import { act, removeMember } from "./controls.ts";
import { busy, controlsEnabled, controlToken, lastSeen, latest, mib, processes } from "./state.ts";

function contact(
  r: { state: string | null; reachable: boolean; lastContactMs?: number; url: string },
  now: number,
): string {
  if (!r.reachable) {
    const seen = lastSeen.value.get(r.url);
    return seen === undefined ? "down" : `down (seen ${((now - seen) / 1000).toFixed(1)} s ago)`;
  }
  if (r.state === "leader") return "leads";
  return r.lastContactMs === undefined ? "–" : `${r.lastContactMs} ms ago`;
}

/** Buttons for one replica process. */
function Actions({ name }: { name: string }) {
  const proc = processes.value.find((p) => p.name === name);
  const disabled = busy.value !== null || controlToken.value === "";
  const button = (label: string, run: () => unknown) => (
    <button type="button" data-testid={`${label}-${name}`} disabled={disabled} onClick={run}>
      {label}
    </button>
  );
  return (
    <td class="actions">
      {proc && !proc.running ? button("start", () => act("start", name)) : (
        <>
          {button("kill", () => act("kill", name))}
          {button("restart", () => act("restart", name))}
          {proc?.paused
            ? button("resume", () => act("resume", name))
            : button("pause", () => act("pause", name))}
          {proc?.paused
            ? button("heal", () => act("heal", name))
            : button("partition", () => act("partition", name))}
        </>
      )}
      {button("remove", () => removeMember(name))}
    </td>
  );
}

/** The replica table. */
export function ReplicaTable() {
  const s = latest.value;
  if (!s) return <p class="muted">waiting for the gateway…</p>;
  const controls = controlsEnabled.value;
  return (
    <table class="replicas" data-testid="replicas">
      <thead>
        <tr>
          <th>replica</th>
          <th>role</th>
          <th>term</th>
          <th>commit</th>
          <th>log</th>
          <th>snapshot</th>
          <th>member</th>
          <th>last contact</th>
          <th>RSS</th>
          {controls && <th>controls</th>}
        </tr>
      </thead>
      <tbody>
        {s.status.replicas.map((r) => {
          const name = r.replicaId ?? r.url;
          return (
            <tr
              key={r.url}
              data-testid={`replica-${name}`}
              class={`role-${r.reachable ? r.state : "down"}`}
            >
              <td title={r.url}>{name}</td>
              <td data-testid="role">{r.reachable ? r.state : "down"}</td>
              <td>{r.term ?? "–"}</td>
              <td>{r.commitIndex ?? "–"}</td>
              <td>{r.logLength ?? "–"}</td>
              <td>{r.snapshotIndex ?? "–"}</td>
              <td data-testid="member">{r.voter === false ? "learner" : "voter"}</td>
              <td>{contact(r, s.at)}</td>
              <td>{mib(r.rssBytes)}</td>
              {controls && <Actions name={name} />}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
