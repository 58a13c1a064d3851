/**
 * The demo's video: each page streams JPEG frames through Chromium's screencast (CDP
 * `Page.startScreencast`, sent only when the page changes, far cheaper than screenshots on a
 * loaded machine); a steady ticker writes every page's latest frame to disk at FPS (an unchanged
 * frame is a symlink to the last one), with the caption of the moment; at the end Debian's
 * ffmpeg tiles the four streams 2x2 (xstack), burns in labels and captions (drawtext, DejaVu)
 * and encodes one H.264 MP4.
 */
import type { CDPSession, Page } from "playwright-core";

const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
/** Size of one tile in the video; pages are scaled to it. */
const TILE = { w: 800, h: 500 };
const BAR = 96;

/** One page in the grid. */
export interface Tile {
  page: Page;
  label: string;
}

interface Stream {
  cdp: CDPSession;
  latest: Uint8Array | null;
  fresh: boolean;
  lastFile: string | null;
}

/** Records tiles at a steady frame rate until `finish`. */
export class Recorder {
  readonly #streams: Stream[] = [];
  /** Caption changes: first frame number and text. */
  readonly #captions: { frame: number; text: string }[] = [];
  #frames = 0;
  #t0 = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #writing = Promise.resolve();

  constructor(readonly dir: string, readonly tiles: Tile[], readonly fps = 6) {}

  /** Starts the screencasts and the ticker. */
  async start(): Promise<void> {
    for (const [i, t] of this.tiles.entries()) {
      await Deno.mkdir(`${this.dir}/t${i}`, { recursive: true });
      const cdp = await t.page.context().newCDPSession(t.page);
      const s: Stream = { cdp, latest: null, fresh: false, lastFile: null };
      cdp.on("Page.screencastFrame", (f) => {
        s.latest = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
        s.fresh = true;
        cdp.send("Page.screencastFrameAck", { sessionId: f.sessionId }).catch(() => {});
      });
      await cdp.send("Page.startScreencast", {
        format: "jpeg",
        quality: 70,
        maxWidth: TILE.w,
        maxHeight: TILE.h,
        everyNthFrame: 1,
      });
      this.#streams.push(s);
      // A page that does not change sends no frame: its first one is a screenshot, at the
      // screencast's scale (it keeps the aspect ratio within TILE).
      const { width, height } = t.page.viewportSize()!;
      const scale = Math.min(1, TILE.w / width, TILE.h / height);
      const shot = await cdp.send("Page.captureScreenshot", {
        format: "jpeg",
        quality: 70,
        clip: { x: 0, y: 0, width, height, scale },
      });
      if (s.latest === null) s.latest = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
    }
    this.#t0 = performance.now();
    this.#timer = setInterval(() => {
      this.#writing = this.#writing.then(() => this.#catchUp()).catch((e) =>
        console.error("recorder:", e)
      );
    }, 1000 / this.fps);
  }

  /** The caption from now on (one or two lines). */
  caption(text: string): void {
    this.#captions.push({ frame: this.#frames, text });
  }

  /** Seconds of video so far. */
  get seconds(): number {
    return this.#frames / this.fps;
  }

  /** Writes a frame for every tick that has passed, so the frame count follows the clock. */
  async #catchUp(): Promise<void> {
    const due = Math.floor(((performance.now() - this.#t0) / 1000) * this.fps);
    while (this.#frames < due) {
      const n = String(this.#frames).padStart(6, "0");
      for (const [i, s] of this.#streams.entries()) {
        const file = `${this.dir}/t${i}/${n}.jpg`;
        if (s.fresh || s.lastFile === null) {
          await Deno.writeFile(file, s.latest!);
          s.fresh = false;
          s.lastFile = `${n}.jpg`;
        } else await Deno.symlink(s.lastFile, file);
      }
      this.#frames++;
    }
  }

  /** Stops recording and encodes `out` (MP4); returns its duration in seconds. */
  async finish(out: string): Promise<number> {
    clearInterval(this.#timer);
    await this.#writing;
    for (const s of this.#streams) await s.cdp.send("Page.stopScreencast").catch(() => {});
    const n = this.#frames;
    const inputs = this.tiles.flatMap((_, i) => [
      "-framerate",
      String(this.fps),
      "-i",
      `${this.dir}/t${i}/%06d.jpg`,
    ]);
    const esc = (p: string) => p.replaceAll(":", "\\:");
    const filters: string[] = [];
    for (const [i, t] of this.tiles.entries()) {
      const labelFile = `${this.dir}/label${i}.txt`;
      await Deno.writeTextFile(labelFile, t.label);
      filters.push(
        `[${i}:v]scale=${TILE.w}:${TILE.h}:force_original_aspect_ratio=decrease,` +
          `pad=${TILE.w}:${TILE.h}:(ow-iw)/2:(oh-ih)/2:color=white,setsar=1,` +
          `drawbox=x=0:y=0:w=iw:h=ih:color=0x888888:t=1,` +
          `drawtext=fontfile=${esc(BOLD)}:textfile=${esc(labelFile)}:fontsize=18:` +
          `fontcolor=white:box=1:boxcolor=0x1d1d1fcc:boxborderw=6:x=8:y=8[v${i}]`,
      );
    }
    let last = "grid";
    filters.push(
      `[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0,` +
        `pad=iw:ih+${BAR}:0:0:color=0x1d1d1f[grid]`,
    );
    for (const [k, c] of this.#captions.entries()) {
      const from = c.frame;
      const to = (this.#captions[k + 1]?.frame ?? n) - 1;
      if (to < from) continue;
      const file = `${this.dir}/caption${k}.txt`;
      await Deno.writeTextFile(file, c.text);
      filters.push(
        `[${last}]drawtext=fontfile=${esc(FONT)}:textfile=${esc(file)}:fontsize=22:` +
          `line_spacing=8:fontcolor=white:x=20:y=h-${BAR}+14:` +
          `enable='between(n,${from},${to})'[c${k}]`,
      );
      last = `c${k}`;
    }
    const args = [
      "-y",
      "-loglevel",
      "error",
      ...inputs,
      "-filter_complex",
      filters.join(";"),
      "-map",
      `[${last}]`,
      "-frames:v",
      String(n),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "30",
      "-pix_fmt",
      "yuv420p",
      "-movflags",
      "+faststart",
      out,
    ];
    const res = await new Deno.Command("ffmpeg", { args, stdout: "piped", stderr: "piped" })
      .output();
    if (!res.success) {
      throw new Error(`ffmpeg failed: ${new TextDecoder().decode(res.stderr).slice(-2000)}`);
    }
    return n / this.fps;
  }
}

/** Extracts the frame at `seconds` of `video` as a JPEG `width` pixels wide. */
export async function stillFrame(
  video: string,
  seconds: number,
  out: string,
  width = 960,
): Promise<void> {
  const res = await new Deno.Command("ffmpeg", {
    args: [
      "-y",
      "-loglevel",
      "error",
      "-ss",
      seconds.toFixed(2),
      "-i",
      video,
      "-frames:v",
      "1",
      "-vf",
      `scale=${width}:-2`,
      "-q:v",
      "5",
      out,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!res.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(res.stderr)}`);
}
