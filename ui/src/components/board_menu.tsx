/**
 * The board menu (top left): which board this is, the other boards, a new
 * board, share and view-only links, export and import, and the theme toggle.
 */
import { signal } from "@preact/signals";
import { importStrokes } from "../board_actions.ts";
import { camera, viewport, visibleBounds } from "../camera.ts";
import { boardNameFor, fetchConfiguredGateway, gatewayUrlFor } from "../client_config.ts";
import {
  boardBackground,
  download,
  exportFrame,
  jsonOf,
  parseBoardFile,
  pngExport,
  svgExport,
} from "../export.ts";
import {
  type BoardRow,
  boardUrl,
  fetchBoards,
  fetchViewToken,
  httpBaseFor,
  newBoardName,
  viewUrl,
} from "../rooms.ts";
import { visibleStrokes } from "../store.ts";
import { effectiveTheme, systemPrefersDark, toggleTheme } from "../theme.ts";
import { readOnly, theme } from "../ui_state.ts";

const open = signal(false);
const boards = signal<BoardRow[] | null>(null);
const message = signal<string | null>(null);
const shareText = signal<string | null>(null);
/** Export the visible area instead of the whole board. */
const visibleOnly = signal(false);

function page(): URL {
  return new URL(location.href);
}

async function gatewayBase(): Promise<string> {
  return httpBaseFor(gatewayUrlFor(await fetchConfiguredGateway(), page()));
}

async function loadBoards(): Promise<void> {
  try {
    boards.value = await fetchBoards(await gatewayBase());
  } catch (e) {
    boards.value = [];
    message.value = `Could not load the board list (${(e as Error).message}).`;
  }
}

/** Puts `text` on the clipboard when allowed, and always shows it for copying by hand. */
async function share(text: string, what: string): Promise<void> {
  shareText.value = text;
  try {
    await navigator.clipboard.writeText(text);
    message.value = `${what} copied.`;
  } catch {
    message.value = `${what} below (copy it by hand).`;
  }
}

async function shareView(): Promise<void> {
  const name = boardNameFor(page());
  try {
    await share(
      viewUrl(page(), name, await fetchViewToken(await gatewayBase(), name)),
      "View-only link",
    );
  } catch (e) {
    message.value = `No view-only link (${(e as Error).message}).`;
  }
}

function frameNow() {
  return exportFrame(
    visibleStrokes(),
    visibleOnly.peek() ? visibleBounds(camera.peek(), viewport.peek()) : null,
  );
}

function fileBase(): string {
  return `whiteboard-${boardNameFor(page())}`;
}

async function exportPng(): Promise<void> {
  const frame = frameNow();
  if (!frame) return void (message.value = "Nothing to export: the board is empty.");
  const png = await pngExport(visibleStrokes(), frame, boardBackground());
  download(`${fileBase()}.png`, png, "image/png");
}

function exportSvg(): void {
  const frame = frameNow();
  if (!frame) return void (message.value = "Nothing to export: the board is empty.");
  download(`${fileBase()}.svg`, svgExport(visibleStrokes(), frame), "image/svg+xml");
}

function exportJson(): void {
  download(
    `${fileBase()}.json`,
    jsonOf(boardNameFor(page()), visibleStrokes()),
    "application/json",
  );
}

async function importFile(input: HTMLInputElement): Promise<void> {
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  const r = parseBoardFile(await file.text());
  if (!r.ok) return void (message.value = `Import failed: ${r.error}.`);
  const n = importStrokes(r.strokes);
  message.value = `Imported ${n} strokes (one undo step).`;
}

/** The menu button and its panel. */
export function BoardMenu() {
  const name = boardNameFor(page());
  const dark = effectiveTheme(theme.value, systemPrefersDark()) === "dark";
  return (
    <div
      class="menu"
      onKeyDown={(e) => {
        // Escape closes the panel and gives focus back to its button.
        if (e.key !== "Escape" || !open.value) return;
        open.value = false;
        (e.currentTarget.querySelector(".menu-button") as HTMLElement | null)?.focus();
      }}
    >
      <div class="menu-head">
        <button
          type="button"
          class="menu-button"
          aria-expanded={open.value}
          aria-controls="board-menu"
          title={`Board ${name}`}
          data-testid="menu"
          onClick={() => {
            open.value = !open.value;
            if (open.value) void loadBoards();
          }}
        >
          ☰ <span class="board-name" data-testid="board-name">{name}</span>
          {readOnly.value && <span class="badge">view only</span>}
        </button>
        <button
          type="button"
          class="theme-toggle"
          aria-label={dark ? "Light mode" : "Dark mode"}
          title={dark ? "Light mode" : "Dark mode"}
          aria-pressed={dark}
          data-testid="theme-toggle"
          onClick={toggleTheme}
        >
          {dark ? "☀" : "☾"}
        </button>
      </div>
      <div id="board-menu" class="panel" hidden={!open.value}>
        <section aria-label="Boards">
          <h2>Boards</h2>
          <ul class="board-list" data-testid="board-list">
            {boards.value === null && <li>Loading…</li>}
            {boards.value?.length === 0 && <li>No boards yet.</li>}
            {boards.value?.map((b) => (
              <li key={b.name}>
                <a
                  href={boardUrl(page(), b.name)}
                  aria-current={b.name === name ? "page" : undefined}
                >
                  {b.name}
                </a>
                <span class="meta">
                  {b.entries} items{b.clients > 0 ? `, ${b.clients} here` : ""}
                </span>
              </li>
            ))}
          </ul>
          <button
            type="button"
            data-testid="new-board"
            onClick={() => location.assign(boardUrl(page(), newBoardName()))}
          >
            New board
          </button>
        </section>
        <section aria-label="Share">
          <h2>Share</h2>
          <button
            type="button"
            data-testid="share-link"
            onClick={() => share(boardUrl(page(), name), "Link")}
          >
            Copy link
          </button>
          <button type="button" data-testid="view-link" onClick={shareView}>
            View-only link
          </button>
          {shareText.value && (
            <input
              class="share-text"
              readOnly
              aria-label="Link to share"
              data-testid="share-text"
              value={shareText.value}
              onFocus={(e) => e.currentTarget.select()}
            />
          )}
        </section>
        <section aria-label="Export and import">
          <h2>Export</h2>
          <label class="check">
            <input
              type="checkbox"
              checked={visibleOnly.value}
              data-testid="export-visible"
              onChange={(e) => (visibleOnly.value = e.currentTarget.checked)}
            />
            Only the visible area
          </label>
          <button type="button" data-testid="export-png" onClick={exportPng}>PNG</button>
          <button type="button" data-testid="export-svg" onClick={exportSvg}>SVG</button>
          <button type="button" data-testid="export-json" onClick={exportJson}>JSON</button>
          {!readOnly.value && (
            <label class="file">
              Import JSON
              <input
                type="file"
                accept="application/json,.json"
                data-testid="import-json"
                onChange={(e) => importFile(e.currentTarget)}
              />
            </label>
          )}
        </section>
        {message.value && (
          <p class="message" role="status" data-testid="menu-message">{message.value}</p>
        )}
      </div>
    </div>
  );
}
