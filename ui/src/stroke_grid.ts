/**
 * A uniform grid over strokes, so the eraser looks only at strokes near the
 * pointer instead of the whole board. Each stroke is filed in every cell its
 * box, widened by half its width, touches; a query takes the cells of the
 * point's box widened by the radius. Two boxes that overlap share a cell, so
 * every stroke the exact test can take is among the candidates. Strokes are
 * named by their position: the order they were added.
 */
import type { Stroke } from "../../protocol/mod.ts";

/** Board units per cell side: a few eraser reaches at normal zoom. */
export const CELL = 256;
/** A stroke over more cells than this goes to a list every query reads: one entry, not millions. */
const MAX_STROKE_CELLS = 64;
/** A query over more cells than this (zoomed far out) reads every stroke: no cheaper. */
const MAX_QUERY_CELLS = 256;
/** Query box padding, so float rounding at a cell edge never drops a stroke the exact test takes. */
const SLACK = 1;

const cellOf = (v: number) => Math.floor(v / CELL);
/** Distinct for every cell within ±2^20 cells (far past MAX_COORDINATE); a clash beyond only adds candidates. */
const keyOf = (cx: number, cy: number) => cx * 2 ** 21 + cy;

/** Strokes filed by cell; only ever added to (a new grid replaces a reset log). */
export class StrokeGrid {
  #cells = new Map<number, number[]>();
  #wide: number[] = [];
  #size = 0;

  /** How many strokes were added. */
  get size(): number {
    return this.#size;
  }

  /** Files `s` as the next position. */
  add(s: Stroke): void {
    const i = this.#size++;
    const r = Math.max(0, s.width / 2); // a width below zero only shrinks the exact test's reach
    const cx0 = cellOf(Math.min(s.x0, s.x1) - r), cx1 = cellOf(Math.max(s.x0, s.x1) + r);
    const cy0 = cellOf(Math.min(s.y0, s.y1) - r), cy1 = cellOf(Math.max(s.y0, s.y1) + r);
    // Negated so a NaN extent lands in the wide list too, where the exact test turns it down.
    if (!((cx1 - cx0 + 1) * (cy1 - cy0 + 1) <= MAX_STROKE_CELLS)) {
      this.#wide.push(i);
      return;
    }
    for (let cx = cx0; cx <= cx1; cx++) {
      for (let cy = cy0; cy <= cy1; cy++) {
        const key = keyOf(cx, cy);
        const cell = this.#cells.get(key);
        if (cell) cell.push(i);
        else this.#cells.set(key, [i]);
      }
    }
  }

  /** Positions, ascending and each once, of every stroke that may pass within `radius` of `p`. */
  near(p: { x: number; y: number }, radius: number): number[] {
    const reach = Math.max(0, radius) + SLACK;
    const cx0 = cellOf(p.x - reach), cx1 = cellOf(p.x + reach);
    const cy0 = cellOf(p.y - reach), cy1 = cellOf(p.y + reach);
    if (!((cx1 - cx0 + 1) * (cy1 - cy0 + 1) <= MAX_QUERY_CELLS)) {
      return Array.from({ length: this.#size }, (_, i) => i);
    }
    const found = [...this.#wide];
    for (let cx = cx0; cx <= cx1; cx++) {
      for (let cy = cy0; cy <= cy1; cy++) {
        for (const i of this.#cells.get(keyOf(cx, cy)) ?? []) found.push(i);
      }
    }
    found.sort((a, b) => a - b);
    return found.filter((v, k) => k === 0 || v !== found[k - 1]);
  }
}
