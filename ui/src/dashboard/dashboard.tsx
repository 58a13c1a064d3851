/** The dashboard page: summary, replicas, elections, charts, boards and the control panel. */
import { ElectionTimeline } from "./election_timeline.tsx";
import { ReplicaTable } from "./replica_table.tsx";
import { Sparkline } from "./sparkline.tsx";
import { addMember, refreshProcesses } from "./controls.ts";
import {
  busy,
  controlMessage,
  controlsEnabled,
  controlToken,
  feed,
  latest,
  mib,
  samples,
} from "./state.ts";

function Summary() {
  const s = latest.value;
  const st = s?.status;
  return (
    <div class="summary" data-testid="summary">
      <span class={`feed feed-${feed.value}`} data-testid="feed">{feed.value}</span>
      <span>
        leader <strong data-testid="leader">{st?.leaderId ?? "none"}</strong>
      </span>
      <span>
        term <strong data-testid="term">{st?.term ?? "–"}</strong>
      </span>
      <span>
        commit <strong data-testid="commit">{st?.commitIndex ?? "–"}</strong>
      </span>
      <span>
        clients <strong>{st?.clients ?? "–"}</strong>
      </span>
      <span>gateway RSS {mib(s?.gateway.rssBytes)}</span>
    </div>
  );
}

function Charts() {
  const list = samples.value;
  const last = list.at(-1);
  return (
    <section class="charts" aria-label="live charts">
      <figure>
        <figcaption>
          committed entries/s <strong data-testid="rate">{last?.committedPerSec ?? 0}</strong>
        </figcaption>
        <Sparkline
          label="committed entries per second"
          unit="/s"
          series={[{ values: list.map((s) => s.committedPerSec), className: "line-rate" }]}
        />
      </figure>
      <figure>
        <figcaption>
          ack latency p50 <strong data-testid="ack-p50">{last?.ack.p50Ms ?? "–"}</strong> / p99{" "}
          <strong>{last?.ack.p99Ms ?? "–"}</strong> ms
        </figcaption>
        <Sparkline
          label="ack latency, p50 and p99"
          unit="ms"
          series={[
            { values: list.map((s) => s.ack.p99Ms), className: "line-p99" },
            { values: list.map((s) => s.ack.p50Ms), className: "line-p50" },
          ]}
        />
      </figure>
    </section>
  );
}

function Boards() {
  const boards = latest.value?.boards ?? [];
  return (
    <section aria-label="boards">
      <h2>Boards</h2>
      {boards.length === 0
        ? <p class="muted">no board yet</p>
        : (
          <table class="boards" data-testid="boards">
            <thead>
              <tr>
                <th>board</th>
                <th>entries</th>
                <th>clients</th>
              </tr>
            </thead>
            <tbody>
              {boards.map((b) => (
                <tr key={b.name} data-testid={`board-${b.name}`}>
                  <td>
                    <a href={`/?board=${encodeURIComponent(b.name)}`}>{b.name}</a>
                  </td>
                  <td>{b.entries}</td>
                  <td>{b.clients}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}

function ControlPanel() {
  if (!controlsEnabled.value) {
    return <p class="muted">Controls are off (start the supervisor with --controls or --dev).</p>;
  }
  const msg = controlMessage.value;
  return (
    <section class="control-panel" aria-label="controls">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem("token");
          controlToken.value = (input as HTMLInputElement).value.trim();
          controlMessage.value = null;
          void refreshProcesses();
        }}
      >
        <label for="control-token">Control token</label>
        <input id="control-token" name="token" type="password" autocomplete="off" />
        <button type="submit" data-testid="unlock">Unlock</button>
        <button
          type="button"
          data-testid="add-member"
          disabled={busy.value !== null || controlToken.value === ""}
          onClick={() => addMember()}
        >
          Add member
        </button>
      </form>
      {busy.value && <p class="muted" data-testid="busy">{busy.value}…</p>}
      {msg && (
        <p class={msg.ok ? "ok" : "error"} data-testid="control-message" role="status">
          {msg.text}
        </p>
      )}
    </section>
  );
}

/** The whole page. */
export function Dashboard() {
  return (
    <main class="dashboard">
      <header>
        <h1>Cluster</h1>
        <a href="/">board</a>
      </header>
      <Summary />
      <ControlPanel />
      <ReplicaTable />
      <Charts />
      <ElectionTimeline />
      <Boards />
    </main>
  );
}
