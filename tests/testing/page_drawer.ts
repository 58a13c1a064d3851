/**
 * A board page that keeps drawing, path after path, with real mouse drags: the load of the
 * failover e2e test and of `deno task demo` (scripts/demo_pages.ts). `penDown` lets a caller
 * strike while strokes of an unfinished path are in flight.
 */
import type { BoardPage, Pt } from "./board_page.ts";

/** Path `i` a drawer draws, in CSS pixels of the page. */
export type PathFn = (i: number) => Pt[];

/** Draws `path(paths)`, then the next, from `start()` until `stop()`. */
export class Drawer {
  /** Paths finished so far. */
  paths = 0;
  /** Between the press and the release of a path. */
  penDown = false;
  #stopped = true;
  #done: Promise<void> = Promise.resolve();

  constructor(readonly board: BoardPage, readonly path: PathFn) {}

  /** Starts (or resumes) drawing. */
  start(): void {
    this.#stopped = false;
    this.#done = this.#run();
  }

  async #run(): Promise<void> {
    const mouse = this.board.page.mouse;
    while (!this.#stopped) {
      const pts = this.path(this.paths);
      await mouse.move(pts[0].x, pts[0].y);
      await mouse.down();
      this.penDown = true;
      for (const p of pts.slice(1)) await mouse.move(p.x, p.y, { steps: 2 });
      this.penDown = false;
      await mouse.up();
      this.paths++;
    }
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Lets the current path finish, then resolves. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#done;
  }
}
