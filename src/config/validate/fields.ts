// Typed, path-aware readers over the plain JS value of a YAML mapping. Each reader reports what is
// wrong (type, range, unknown field) into Issues and returns undefined, so validators read like the
// schema and never throw. `null` counts as absent, as in Kubernetes.
import { parseDuration } from '../duration.js';
import { describeValue, type Issues, type Path } from './issues.js';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Store a user-named entry (a header, label or query parameter name) as an own property: plain
 * assignment of `__proto__` would set the object's prototype and the entry would vanish — a header
 * match that silently matches every request. */
export function setEntry<T>(map: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

interface IntOpts {
  required?: boolean;
  min?: number;
  max?: number;
}

/** Reader over one mapping. Create it with `fields()`, which also rejects unknown keys. */
export class Fields {
  constructor(
    readonly issues: Issues,
    readonly obj: Obj,
    readonly path: Path,
  ) {}

  at(key: string): Path {
    return [...this.path, key];
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  private missing(key: string, required: boolean | undefined): undefined {
    if (required) this.issues.add('WEFT_E_REQUIRED_FIELD', this.at(key), 'is required');
    return undefined;
  }

  str(key: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    if (typeof v !== 'string') {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a string, got ${describeValue(v)}`);
      return undefined;
    }
    if (opts.required && v === '') {
      this.issues.add('WEFT_E_REQUIRED_FIELD', this.at(key), 'must not be empty');
      return undefined;
    }
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be true or false, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  int(key: string, opts: IntOpts = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    return checkInt(this.issues, v, this.at(key), opts);
  }

  /** A number (integer or not) within [min, max], e.g. a percentage. */
  num(key: string, opts: IntOpts = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    const range = rangeText(opts);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a number${range}, got ${describeValue(v)}`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.issues.add('WEFT_E_INVALID_VALUE', this.at(key), `must be a number${range}, got ${v}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], opts: { required?: boolean; caseInsensitive?: boolean } = {}): T | undefined {
    const s = this.str(key, opts);
    if (s === undefined) return undefined;
    const found = values.find((x) => (opts.caseInsensitive ? x.toUpperCase() === s.toUpperCase() : x === s));
    if (found === undefined) {
      this.issues.add('WEFT_E_INVALID_VALUE', this.at(key), `must be one of ${values.join(', ')}, got ${describeValue(s)}`);
    }
    return found;
  }

  /** Milliseconds from a duration string ("1s", "500ms", "1h"). */
  durationMs(key: string, opts: { required?: boolean; allowZero?: boolean } = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    if (typeof v !== 'string') {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a duration string such as 500ms or 1s, got ${describeValue(v)}`);
      return undefined;
    }
    const d = parseDuration(v, { allowZero: opts.allowZero });
    if (!d.ok) {
      this.issues.add('WEFT_E_DURATION', this.at(key), d.message);
      return undefined;
    }
    return d.ms;
  }

  /** A nested mapping with its own known keys. */
  sub(key: string, known: readonly string[], opts: { required?: boolean } = {}): Fields | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    return fields(this.issues, v, this.at(key), known);
  }

  /** A list; each element is handed back with its path. */
  list(key: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): Array<{ value: unknown; path: Path }> | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required || opts.nonEmpty);
    if (!Array.isArray(v)) {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a list, got ${describeValue(v)}`);
      return undefined;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.issues.add('WEFT_E_REQUIRED_FIELD', this.at(key), 'must have at least one entry');
      return undefined;
    }
    return v.map((value, i) => ({ value, path: [...this.at(key), i] }));
  }

  strList(key: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string[] | undefined {
    const items = this.list(key, opts);
    if (!items) return undefined;
    const out: string[] = [];
    for (const { value, path } of items) {
      if (typeof value !== 'string') this.issues.add('WEFT_E_TYPE', path, `must be a string, got ${describeValue(value)}`);
      else out.push(value);
    }
    return out.length === items.length ? out : undefined;
  }

  /** A map of string to string (labels, header values). Numbers and booleans are type errors, as in Kubernetes. */
  strMap(key: string, opts: { required?: boolean } = {}): Record<string, string> | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.required);
    if (!isObj(v)) {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a map of strings, got ${describeValue(v)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    let ok = true;
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string') {
        this.issues.add('WEFT_E_TYPE', [...this.at(key), k], `must be a string, got ${describeValue(val)}`);
        ok = false;
      } else setEntry(out, k, val);
    }
    return ok ? out : undefined;
  }

  /** A map whose values are mappings or scalars handled by the caller. */
  map(key: string): Array<{ key: string; value: unknown; path: Path }> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObj(v)) {
      this.issues.add('WEFT_E_TYPE', this.at(key), `must be a map, got ${describeValue(v)}`);
      return undefined;
    }
    return Object.entries(v).map(([k, value]) => ({ key: k, value, path: [...this.at(key), k] }));
  }
}

/** Starts reading `v` as a mapping at `path`; unknown keys become WEFT_E_UNKNOWN_FIELD. */
export function fields(issues: Issues, v: unknown, path: Path, known: readonly string[]): Fields | undefined {
  if (!isObj(v)) {
    issues.add('WEFT_E_TYPE', path, `must be an object, got ${describeValue(v)}`);
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    issues.add('WEFT_E_UNKNOWN_FIELD', [...path, key], `unknown field${hint ? `; did you mean "${hint}"?` : ''}`);
  }
  return new Fields(issues, v, path);
}

export function checkInt(issues: Issues, v: unknown, path: Path, opts: IntOpts = {}): number | undefined {
  const range = rangeText(opts);
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    issues.add('WEFT_E_TYPE', path, `must be an integer${range}, got ${describeValue(v)}`);
    return undefined;
  }
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    issues.add('WEFT_E_INVALID_VALUE', path, `must be an integer${range}, got ${v}`);
    return undefined;
  }
  return v;
}

function rangeText({ min, max }: IntOpts): string {
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/** The closest known key (case-insensitive edit distance up to 2, or 3 for longer keys), to suggest a fix for a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = key.length >= 5 ? 4 : 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 4;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
