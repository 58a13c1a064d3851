/** A token bucket: `burst` tokens at most, refilled at `ratePerSec`. */
export class TokenBucket {
  #tokens: number;
  #lastMs: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    readonly nowMs: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#lastMs = nowMs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.nowMs();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + (now - this.#lastMs) * this.ratePerSec / 1000,
    );
    this.#lastMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
