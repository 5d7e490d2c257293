// Coalesce bursts of changes into one push: wait for `quietMs` without a change, but never longer
// than `maxMs` after the first one (Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX).
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;

  constructor(
    private readonly fn: () => void,
    private readonly quietMs: number,
    private readonly maxMs: number,
  ) {}

  trigger(): void {
    const now = Date.now();
    if (!this.timer) this.firstAt = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.quietMs, this.firstAt + this.maxMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fn();
    }, wait);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
