// Shadowed VirtualService rules: a rule after a catch-all, a match implied by an earlier one; and
// never a claim where it is not decidable by form (regexes, different headers, extra conditions).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shadowedMatches } from '../../src/controlplane/describe/shadowing.js';
import type { VirtualService } from '../../src/config/types.js';
import { configFrom, yaml } from '../translate/fixtures.js';

const vsOf = (http: string): VirtualService => configFrom(yaml('vs.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: r }
spec:
  hosts: [reviews]
  http:
${http}`)).virtualServices[0];

const route = '    route: [{ destination: { host: reviews } }]\n';
const rule = (match?: string) => `  - ${match ? `match: ${match}\n  ` : ''}${route.trimStart().padStart(route.trimStart().length + 2)}`;

const cases: Array<{ name: string; http: string; want: string[] }> = [
  { name: 'a rule after a rule without match', http: rule() + rule('[{ uri: { prefix: /a } }]'), want: ['spec.http[1].match[0] catch-all by http[0]'] },
  { name: 'a rule after prefix / is shadowed', http: rule('[{ uri: { prefix: / } }]') + rule(), want: ['spec.http[1] catch-all by http[0].match[0]'] },
  { name: 'a longer prefix after a shorter one', http: rule('[{ uri: { prefix: /api } }]') + rule('[{ uri: { prefix: /api/v1 } }]'), want: ['spec.http[1].match[0] covered by http[0].match[0]'] },
  { name: 'an exact path under an earlier prefix', http: rule('[{ uri: { prefix: /api } }]') + rule('[{ uri: { exact: /api/x }, headers: { a: { exact: b } } }]'), want: ['spec.http[1].match[0] covered by http[0].match[0]'] },
  { name: 'the same header match twice', http: rule('[{ headers: { end-user: { exact: jason } } }]') + rule('[{ headers: { end-user: { exact: jason } }, uri: { prefix: /x } }]'), want: ['spec.http[1].match[0] covered by http[0].match[0]'] },
  { name: 'bookinfo jason-v2-v3: nothing shadowed', http: rule('[{ headers: { end-user: { exact: jason } } }]') + rule(), want: [] },
  { name: 'a shorter prefix after a longer one is reachable', http: rule('[{ uri: { prefix: /api/v1 } }]') + rule('[{ uri: { prefix: /api } }]'), want: [] },
  { name: 'different header values are both reachable', http: rule('[{ headers: { u: { exact: a } } }]') + rule('[{ headers: { u: { exact: b } } }]'), want: [] },
  { name: 'regexes are not compared beyond identity', http: rule('[{ uri: { regex: "/a.*" } }]') + rule('[{ uri: { regex: "/ab.*" } }]'), want: [] },
  { name: 'sourceLabels narrow the earlier match: the later one is reachable', http: rule('[{ sourceLabels: { app: x } }]') + rule(), want: [] },
  { name: 'a case-insensitive later match is not covered by a case-sensitive one', http: rule('[{ uri: { prefix: /a } }]') + rule('[{ uri: { prefix: /ab }, ignoreUriCase: true }]'), want: [] },
  { name: 'one match of two covered: only that match is reported', http: rule('[{ uri: { prefix: /a } }]') + rule('[{ uri: { prefix: /ab } }, { uri: { prefix: /b } }]'), want: ['spec.http[1].match[0] covered by http[0].match[0]'] },
];

for (const c of cases)
  test(`shadowing: ${c.name}`, () => {
    const got = shadowedMatches(vsOf(c.http)).map((s) => `${s.path} ${s.reason} by http[${s.byRule}]${s.byMatch !== undefined ? `.match[${s.byMatch}]` : ''}`);
    assert.deepEqual(got, c.want);
  });
