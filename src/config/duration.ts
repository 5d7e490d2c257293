// Durations as Istio accepts them in YAML: Go's time.ParseDuration syntax ("1h30m", "500ms", "1.5s")
// which also covers protobuf JSON ("1.5s"). Weft carries durations as milliseconds.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/**
 * Parses a duration string to milliseconds. Like Istio's ValidateDuration, the result must be at least
 * 1ms and a whole number of milliseconds (Envoy's timeouts have ms precision). `allowZero` admits "0s"
 * for fields where zero means "disabled".
 */
export function parseDuration(text: string, opts: { allowZero?: boolean } = {}): DurationResult {
  const bad = (): DurationResult => ({ ok: false, message: `must be a duration such as 500ms, 1.5s, 2m or 1h, got ${JSON.stringify(text)}` });
  const s = text.trim();
  if (s === '') return bad();
  if (s.startsWith('-')) return { ok: false, message: `duration must not be negative, got ${JSON.stringify(text)}` };
  const unsigned = s.startsWith('+') ? s.slice(1) : s;
  if (unsigned === '0') return opts.allowZero ? { ok: true, ms: 0 } : tooSmall(s);
  let ms = 0;
  let pos = 0;
  while (pos < unsigned.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(unsigned);
    if (!m) return bad();
    ms += Number(m[1]) * UNIT_MS[m[2]];
    pos = TERM.lastIndex;
  }
  // Float arithmetic: 1.1s is 1100.0000000000002 ms; round to the nearest nanosecond first.
  const nsRounded = Math.round(ms * 1e6) / 1e6;
  if (!Number.isFinite(nsRounded)) return bad();
  if (nsRounded === 0 && opts.allowZero) return { ok: true, ms: 0 };
  if (nsRounded < 1) return tooSmall(s);
  if (!Number.isInteger(nsRounded)) return { ok: false, message: `only millisecond precision is supported, got ${JSON.stringify(text)}` };
  return { ok: true, ms: nsRounded };
}

const tooSmall = (s: string): DurationResult => ({ ok: false, message: `duration must be at least 1ms, got ${JSON.stringify(s)}` });

/** Renders milliseconds the way a user would write them back (for messages and `proxy-config`). */
export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
