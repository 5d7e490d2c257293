// RE2 → JavaScript, shared by the control plane's validation and the proxy's compiler: what one
// accepts the other runs, with the same meaning; what JavaScript cannot mean the same is refused by both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { re2ToJs } from '../../src/api/re2.js';
import { regexProblem } from '../../src/config/validate/common.js';
import { compileRegex, Problems } from '../../src/proxy/xds/validate-common.js';

const cases: Array<{ re: string; matches?: string[]; misses?: string[]; error?: RegExp }> = [
  { re: '(?i)/Reviews/.*', matches: ['/reviews/1', '/REVIEWS/x'], misses: ['/ratings'] },
  { re: '(?s)/a.b', matches: ['/a\nb'] },
  { re: '(?P<id>[0-9]+)', matches: ['42'], misses: ['x'] },
  { re: '\\A/x\\z', matches: ['/x'] },
  { re: '(?U)a+', error: /\(\?U\) is not supported/ },
  { re: '(?m)^a$', error: /\(\?m\) is not supported/ },
  { re: 'a(?i:b)', error: /scoped flag groups/ },
  { re: 'a(?i)b', error: /only at the start/ },
  { re: 'a(?=b)', error: /look-around/ },
  { re: '(a)\\1', error: /back-references/ },
  { re: 'a)|(b', error: /Unmatched/ },
];

for (const c of cases) {
  test(`${c.re}: control plane and proxy agree`, () => {
    const p = new Problems();
    const compiled = compileRegex(c.re, 'regex', p);
    const cp = regexProblem(c.re);
    if (c.error) {
      assert.equal(re2ToJs(c.re).ok, false);
      assert.match(cp ?? '', c.error);
      assert.equal(compiled, undefined);
      assert.match(p.list.join('\n'), c.error);
      return;
    }
    assert.equal(cp, undefined);
    assert.ok(compiled, p.list.join('\n'));
    for (const m of c.matches ?? []) assert.ok(compiled.test(m), `${c.re} matches ${JSON.stringify(m)}`);
    for (const m of c.misses ?? []) assert.ok(!compiled.test(m), `${c.re} does not match ${JSON.stringify(m)}`);
  });
}
