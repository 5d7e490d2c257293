// RE2 (what Envoy and Istio run) as a JavaScript RegExp, in one place for the control plane's
// validation and the proxy's compiler, so what one accepts the other runs. RE2 has no look-around
// or back-references: rejected, as they would behave differently. RE2's own syntax is translated
// where JavaScript has it: (?P<name>…) → (?<name>…), \A → ^, \z → $, and a leading flag group
// (?i) (?s) → RegExp flags. Scoped flags (?i:…), ungreedy (?U) and multi-line (?m) (a match is of
// the whole value) have no faithful JavaScript form on Node 20: rejected rather than silently
// matching something else.

export type Re2Translation = { ok: true; source: string; flags: string } | { ok: false; message: string };

const LOOK_AROUND_OR_BACKREF = /\(\?<?[=!]|\\[1-9]/;
const LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;
const SCOPED_FLAGS = /\(\?[a-zA-Z]*-?[a-zA-Z]*:/;

export function re2ToJs(re: string): Re2Translation {
  if (LOOK_AROUND_OR_BACKREF.test(re)) return { ok: false, message: 'look-around and back-references are not RE2' };
  let source = re;
  let flags = '';
  const lead = LEADING_FLAGS.exec(source);
  if (lead) {
    for (const f of lead[1]) {
      if (f !== 'i' && f !== 's') return { ok: false, message: `the flag group (?${lead[1]}) is not supported (only i and s: a match is always of the whole value)` };
      if (!flags.includes(f)) flags += f;
    }
    source = source.slice(lead[0].length);
  }
  if (SCOPED_FLAGS.test(source.replace(/\\\\|\\\(/g, ''))) return { ok: false, message: 'scoped flag groups such as (?i:…) are not supported; put the flags at the start, e.g. (?i)' };
  if (/\(\?[a-zA-Z]+\)/.test(source.replace(/\\\\|\\\(/g, ''))) return { ok: false, message: 'a flag group is supported only at the start of the expression' };
  source = source.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    // On its own first: inside ^(?:…)$ an unbalanced "a)|(b" compiles, and escapes the anchors.
    new RegExp(source, flags);
  } catch (e) {
    return { ok: false, message: (e as Error).message.replace(/^Invalid regular expression: /, '') };
  }
  return { ok: true, source, flags };
}
