import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { HOME } from "./camera.ts";
import { BLOCK, extend, GroupIndex, type StrokeSource } from "./paths.ts";
import { devicePixelsOf, drawStrokes, tilesOf } from "./scene.ts";
import { type CopyCtx, TileBases } from "./tile_bases.ts";

/**
 * A canvas that records, per clipped rectangle, the strokes drawn into it since it was last
 * cleared, and copies those records with drawImage. The pictures are drawn tile by tile so that
 * equal records mean equal pixels (scene.ts): two of these agree where two real ones would.
 */
class FakeCtx {
  readonly canvas: { width: number; height: number; fake: FakeCtx };
  readonly regions = new Map<string, string[]>();
  strokeStyle = "#000000";
  lineWidth = 1;
  lineCap: CanvasLineCap = "butt";
  lineJoin: CanvasLineJoin = "miter";
  #clip: string | null = null;
  #transform = "1,0,0,1,0,0";
  #rect = "";
  #path = "";
  #saved: { clip: string | null; transform: string }[] = [];

  constructor(width: number, height: number) {
    this.canvas = { width, height, fake: this };
  }

  save() {
    this.#saved.push({ clip: this.#clip, transform: this.#transform });
  }
  restore() {
    ({ clip: this.#clip, transform: this.#transform } = this.#saved.pop()!);
  }
  setTransform(...m: number[]) {
    this.#transform = m.join();
  }
  #identity(x: number, y: number, w: number, h: number): string {
    assert.equal(this.#transform, "1,0,0,1,0,0", "rectangles are given in device pixels");
    return `${x},${y},${w},${h}`;
  }
  rect(x: number, y: number, w: number, h: number) {
    this.#rect = this.#identity(x, y, w, h);
  }
  clip() {
    this.#clip = this.#rect;
  }
  clearRect(x: number, y: number, w: number, h: number) {
    this.regions.set(this.#identity(x, y, w, h), []);
  }
  beginPath() {
    this.#path = "";
  }
  moveTo(x: number, y: number) {
    this.#path += ` M${x},${y}`;
  }
  lineTo(x: number, y: number) {
    this.#path += ` L${x},${y}`;
  }
  quadraticCurveTo(cx: number, cy: number, x: number, y: number) {
    this.#path += ` Q${cx},${cy} ${x},${y}`;
  }
  stroke() {
    assert.ok(this.#clip, "every stroke is clipped to a tile");
    const ops = this.regions.get(this.#clip) ?? [];
    ops.push(`${this.#transform} ${this.strokeStyle}/${this.lineWidth}${this.#path}`);
    this.regions.set(this.#clip, ops);
  }
  drawImage(src: { fake: FakeCtx }, ...r: number[]) {
    const [sx, sy, sw, sh, dx, dy, dw, dh] = r;
    assert.deepEqual([sw, sh], [dw, dh], "copies are one to one");
    const ops = src.fake.regions.get(`${sx},${sy},${sw},${sh}`) ?? [];
    this.regions.set(this.#identity(dx, dy, dw, dh), [...ops]);
  }
  getImageData() {}
}

const fake = (w: number, h: number) => new FakeCtx(w, h) as unknown as CopyCtx;
const regionsOf = (ctx: CopyCtx) => (ctx as unknown as FakeCtx).regions;

/** A random-ish walk of `n` touching segments from (x, y), one group. */
function walk(group: string, n: number, x: number, y: number, dx: number, dy: number): Stroke[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${group}:${i}`,
    x0: x + i * dx,
    y0: y + i * dy + (i % 3) * 2,
    x1: x + (i + 1) * dx,
    y1: y + (i + 1) * dy + ((i + 1) % 3) * 2,
    color: "#1d1d1f",
    width: 2 + (i % 2),
    group,
  })).map((s, i, all) => i === 0 ? s : { ...s, x0: all[i - 1].x1, y0: all[i - 1].y1 });
}

/**
 * Renders `board` whole on a picture of 512x512 device pixels (four tiles), then feeds it `live`
 * one segment at a time the way the renderer does: a new group is drawn on top of the tiles it
 * reaches, a grown one redraws the tiles of its last two blocks. After every segment the
 * picture must equal a full render. Returns the segments each live redraw drew.
 */
function feed(board: Stroke[], live: Stroke[]): number[] {
  const log = [...board, ...live];
  const ctx = fake(512, 512);
  const bases = new TileBases(fake);
  const index = new GroupIndex();
  const source: StrokeSource = { strokeAt: (i) => log[i], visible: () => true };
  board.forEach((s, i) => index.add(s, i));
  for (const tile of tilesOf(512, 512)) {
    bases.redraw(ctx, tile, 0, index.groups, index.groups.length, source, HOME, 1);
  }
  const cost: number[] = [];
  for (let i = board.length; i < log.length; i++) {
    const g = index.add(log[i], i);
    const m = g.members.length;
    const reach = { ...g.blocks[Math.floor((m - 2) / BLOCK)] ?? g.blocks[0] };
    extend(reach, g.blocks[g.blocks.length - 1]);
    const to = index.groups.length;
    for (const tile of tilesOf(512, 512, devicePixelsOf(reach, HOME, 1))) {
      if (m === 1) bases.drawOnTop(ctx, tile, index.groups, g.z, to, source, HOME, 1, true);
      else cost.push(bases.redraw(ctx, tile, g.z, index.groups, to, source, HOME, 1));
    }
    const full = fake(512, 512);
    drawStrokes(full, log.slice(0, i + 1), HOME, 1);
    const drawn = (r: Map<string, string[]>) => [...r].filter(([, ops]) => ops.length > 0).sort();
    assert.deepEqual(drawn(regionsOf(ctx)), drawn(regionsOf(full)), `after segment ${i}`);
  }
  return cost;
}

/** Many long strokes over all four tiles: what a growing stroke is drawn over. */
const background = Array.from({ length: 12 }, (_, k) => walk(`bg${k}`, 50, 5, k * 40, 10, 1))
  .flat();

Deno.test("a stroke growing over a dense picture, across tiles, keeps it equal to a full render, a few paths a frame", () => {
  const cost = feed(background, walk("g", 60, 200, 100, 4, 3));
  // Every redraw starts from a kept copy: it draws the growing group, never the background.
  assert.ok(cost.length > 60, `${cost.length} redraws`);
  assert.ok(Math.max(...cost) <= 60, `at most the stroke itself: ${Math.max(...cost)}`);
});

Deno.test("two strokes growing at once in one tile, and a lower one growing later, stay equal", () => {
  const a = walk("a", 40, 100, 100, 5, 2), b = walk("b", 40, 120, 90, 4, 3);
  const both = a.flatMap((s, i) => [s, b[i]]);
  const cost = feed(background, [...both, ...walk("bg0", 20, 505, 2, -6, 5)]);
  // The old background stroke grows below both: its tiles are redrawn whole once.
  assert.ok(cost.some((n) => n > 100), "a change below the kept copies redraws from scratch");
});
