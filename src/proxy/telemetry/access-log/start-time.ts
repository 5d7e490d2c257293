// %START_TIME(format)%: Envoy's strftime-like formats, compiled once per format into an array of
// pieces. Times are UTC, as Envoy prints them. Without a format, Envoy's default
// (%Y-%m-%dT%H:%M:%E3SZ), which is what Date.toISOString() produces.
import type { Problems } from '../../xds/validate-common.js';

type Piece = string | ((d: Date, ms: number) => string);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Sub-second digits (1–9) of an epoch-ms time: ms precision, zero-filled below it. */
const fraction = (ms: number, digits: number) => (pad(((ms % 1000) + 1000) % 1000, 3) + '000000').slice(0, digits);

const SPECIFIERS: Record<string, (d: Date, ms: number) => string> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad(d.getUTCFullYear() % 100),
  m: (d) => pad(d.getUTCMonth() + 1),
  d: (d) => pad(d.getUTCDate()),
  e: (d) => String(d.getUTCDate()).padStart(2, ' '),
  H: (d) => pad(d.getUTCHours()),
  M: (d) => pad(d.getUTCMinutes()),
  S: (d) => pad(d.getUTCSeconds()),
  j: (d) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3),
  s: (_d, ms) => String(Math.floor(ms / 1000)),
  z: () => '+0000',
  Z: () => 'UTC',
  T: (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
  F: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
  f: (_d, ms) => fraction(ms, 9),
};

/** A compiled START_TIME format; undefined when it has problems (reported under `path`). */
export function compileStartTime(format: string | undefined, path: string, p: Problems): ((ms: number) => string) | undefined {
  if (format === undefined || format === '') return (ms) => new Date(ms).toISOString();
  const pieces: Piece[] = [];
  let literal = '';
  let ok = true;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      literal += c;
      continue;
    }
    const rest = format.slice(i + 1);
    // %E<n>S (seconds with n fractional digits), %Es (epoch seconds with ms), %<n>f (n fractional digits).
    const es = /^E([1-9])S/.exec(rest);
    const nf = /^([1-9])f/.exec(rest);
    let piece: Piece | undefined;
    let used = 1;
    if (rest[0] === '%') piece = '%';
    else if (es) {
      const n = Number(es[1]);
      piece = (d, ms) => `${pad(d.getUTCSeconds())}.${fraction(ms, n)}`;
      used = 3;
    } else if (rest.startsWith('Es')) {
      piece = (_d, ms) => (ms / 1000).toFixed(3);
      used = 2;
    } else if (nf) {
      const n = Number(nf[1]);
      piece = (_d, ms) => fraction(ms, n);
      used = 2;
    } else if (SPECIFIERS[rest[0]]) piece = SPECIFIERS[rest[0]];
    if (piece === undefined) {
      p.add(path, `START_TIME format "${format}": %${rest[0] ?? ''} is not supported`);
      ok = false;
      break;
    }
    if (typeof piece === 'string') literal += piece;
    else {
      if (literal) pieces.push(literal);
      literal = '';
      pieces.push(piece);
    }
    i += used;
  }
  if (!ok) return undefined;
  if (literal) pieces.push(literal);
  return (ms) => {
    const d = new Date(ms);
    let out = '';
    for (const piece of pieces) out += typeof piece === 'string' ? piece : piece(d, ms);
    return out;
  };
}
