/**
 * History replay over a board's committed entries (strokes and ops, in index
 * order): the picture as of any index, who did what and when, and the ops
 * that bring today's board back to a past picture. The past is never
 * rewritten: restoring appends restore and erase entries like any edit, so
 * every screen (and undo) sees it the same way.
 */
import {
  type BoardEntry,
  entryId,
  MAX_OP_TARGETS,
  type Stroke,
  Visibility,
} from "../../protocol/mod.ts";

/** A point of the timeline: an entry, who made it and when (from its group's first stroke). */
export interface HistoryStep {
  index: number;
  kind: "stroke" | "erase" | "restore" | "clear";
  by: string | null;
  at: number | null;
}

/** One step per entry; a stroke without its own authorship takes its group's. */
export function timeline(entries: readonly BoardEntry[]): HistoryStep[] {
  const byGroup = new Map<string, { by: string | null; at: number | null }>();
  return entries.map((e) => {
    const kind = "stroke" in e
      ? "stroke"
      : "erase" in e
      ? "erase"
      : "restore" in e
      ? "restore"
      : "clear";
    const body = "stroke" in e
      ? e.stroke
      : "erase" in e
      ? e.erase
      : "restore" in e
      ? e.restore
      : e.clear;
    let by = body.by ?? null;
    let at = body.at ?? null;
    if ("stroke" in e && e.stroke.group !== undefined) {
      const known = byGroup.get(e.stroke.group);
      if (by === null && known) ({ by, at } = known);
      else if (!known) byGroup.set(e.stroke.group, { by, at });
    }
    return { index: e.index, kind, by, at };
  });
}

/** Visibility after the first `count` entries. */
function visibilityAfter(entries: readonly BoardEntry[], count: number): Visibility {
  const v = new Visibility();
  for (let i = 0; i < count; i++) v.apply(entries[i]);
  return v;
}

/** The strokes visible after the first `count` entries, in index order. */
export function pictureAt(entries: readonly BoardEntry[], count: number): Stroke[] {
  const v = visibilityAfter(entries, count);
  const out: Stroke[] = [];
  for (let i = 0; i < count; i++) {
    const e = entries[i];
    if ("stroke" in e && v.isVisible(e.stroke, e.index)) out.push(e.stroke);
  }
  return out;
}

/** The ops that make today's picture equal the one after `count` entries: restores, then erases. */
export interface RestorePlan {
  restore: string[][];
  erase: string[][];
}

/**
 * What to append so the board shows again what it showed after the first
 * `count` entries. Restores come first (what was hidden since, by an erase of
 * its id or group or by a later clear), then erases of everything visible
 * after them that was not visible then (whole groups where they can be).
 */
export function restorePlan(entries: readonly BoardEntry[], count: number): RestorePlan {
  const past = visibilityAfter(entries, count);
  const now = visibilityAfter(entries, entries.length);
  const lastIndex = entries.length === 0 ? 0 : entries[entries.length - 1].index;
  const toRestore = new Set<string>();
  // Clears in force now that were not then (later ones, or earlier ones re-applied since).
  // A clear not yet committed then counts as new even if its id was already hidden.
  const newClears = entries.filter((e, i) =>
    "clear" in e && now.isHidden(entryId(e)) && (i >= count || !past.isHidden(entryId(e)))
  ).map(entryId);
  for (let i = 0; i < count; i++) {
    const e = entries[i];
    if (
      !("stroke" in e) || !past.isVisible(e.stroke, e.index) || now.isVisible(e.stroke, e.index)
    ) {
      continue;
    }
    if (now.isHidden(e.stroke.id)) toRestore.add(e.stroke.id);
    if (e.stroke.group !== undefined && now.isHidden(e.stroke.group)) toRestore.add(e.stroke.group);
    for (const c of newClears) toRestore.add(c);
  }
  const restore = [...toRestore];
  // What is visible once the restores are in: the picture to trim back to the past one.
  const after = [...entries];
  if (restore.length > 0) {
    after.push({ index: lastIndex + 1, restore: { id: "plan", targets: restore } });
  }
  const then = visibilityAfter(after, after.length);
  const extraByGroup = new Map<string, { extra: string[]; keep: boolean }>();
  const loose: string[] = [];
  for (const e of entries) {
    if (!("stroke" in e)) continue;
    const shownThen = e.index <= (entries[count - 1]?.index ?? 0) &&
      past.isVisible(e.stroke, e.index);
    const shownAfter = then.isVisible(e.stroke, e.index);
    const g = e.stroke.group;
    if (g === undefined) {
      if (shownAfter && !shownThen) loose.push(e.stroke.id);
      continue;
    }
    const rec = extraByGroup.get(g) ?? { extra: [], keep: false };
    extraByGroup.set(g, rec);
    if (shownAfter && !shownThen) rec.extra.push(e.stroke.id);
    if (shownAfter && shownThen) rec.keep = true;
  }
  const erase = [...loose];
  for (const [g, rec] of extraByGroup) {
    if (rec.extra.length === 0) continue;
    if (rec.keep) erase.push(...rec.extra);
    else erase.push(g);
  }
  return { restore: chunks(restore), erase: chunks(erase) };
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += MAX_OP_TARGETS) out.push(ids.slice(i, i + MAX_OP_TARGETS));
  return out;
}

/** A board's committed entries in index order, from its strokes and ops kept apart. */
export function mergeEntries(
  strokes: readonly Stroke[],
  strokeIndex: readonly number[],
  ops: readonly BoardEntry[],
): BoardEntry[] {
  const out: BoardEntry[] = [];
  let i = 0, j = 0;
  while (i < strokes.length || j < ops.length) {
    if (j >= ops.length || (i < strokes.length && strokeIndex[i] < ops[j].index)) {
      out.push({ index: strokeIndex[i], stroke: strokes[i] });
      i++;
    } else out.push(ops[j++]);
  }
  return out;
}
