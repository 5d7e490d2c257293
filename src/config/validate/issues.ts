// Validation collects every problem (never stops at the first), each with the field path it is about,
// so one `weft analyze` run lists everything. Paths stay as segments until they are printed, so the
// parser can also look up the YAML node (and its line) the path points at.
import type { ConfigErrorCode } from '../errors.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

export interface Issue {
  code: ConfigErrorCode;
  path: Path;
  message: string;
}

export class Issues {
  readonly list: Issue[] = [];

  add(code: ConfigErrorCode, path: Path, message: string): void {
    this.list.push({ code, path: [...path], message });
  }

  get size(): number {
    return this.list.length;
  }
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['spec','http',0,'match',0,'headers','end-user']` → `spec.http[0].match[0].headers.end-user`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** A short rendering of a bad value for messages: `"abc"`, `12.5`, `a list`, `an object`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
