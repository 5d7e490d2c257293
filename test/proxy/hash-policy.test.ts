// A request's hash from route hash_policy: which inputs count, in which order, terminal, and the
// affinity cookie generated when absent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addSetCookies, cookieValue, requestHash, type HashInput } from '../../src/proxy/http/hash-policy.js';
import { combineHashes, murmur3 } from '../../src/proxy/upstream/hash.js';
import type { HashPolicy } from '../../src/proxy/xds/model.js';

const req = (headers: Record<string, string>, query: Record<string, string> = {}, sourceIp = '10.1.2.3'): HashInput => ({
  header: (n) => headers[n],
  queryParam: (n) => query[n],
  sourceIp,
});
const header = (name: string, terminal = false): HashPolicy => ({ kind: 'header', name, terminal });

describe('requestHash', () => {
  const cases: { name: string; policies: HashPolicy[]; input: HashInput; want: number | undefined }[] = [
    { name: 'no policies: no hash', policies: [], input: req({ 'x-user': 'a' }), want: undefined },
    { name: 'header present', policies: [header('x-user')], input: req({ 'x-user': 'alice' }), want: murmur3('alice') },
    { name: 'a pseudo-header', policies: [header(':authority')], input: req({ ':authority': 'reviews:9080' }), want: murmur3('reviews:9080') },
    { name: 'header absent: no hash', policies: [header('x-user')], input: req({}), want: undefined },
    { name: 'query parameter', policies: [{ kind: 'query_parameter', name: 'u', terminal: false }], input: req({}, { u: 'bob' }), want: murmur3('bob') },
    { name: 'source ip', policies: [{ kind: 'source_ip', terminal: false }], input: req({}), want: murmur3('10.1.2.3') },
    { name: 'cookie present', policies: [{ kind: 'cookie', name: 's', ttlMs: 1000, path: '/', terminal: false }], input: req({ cookie: 'a=1; s="xyz"' }), want: murmur3('xyz') },
    { name: 'cookie absent, no ttl: no hash, nothing generated', policies: [{ kind: 'cookie', name: 's', ttlMs: undefined, path: '', terminal: false }], input: req({}), want: undefined },
    { name: 'two policies combine in order', policies: [header('a'), header('b')], input: req({ a: '1', b: '2' }), want: combineHashes(murmur3('1'), murmur3('2')) },
    { name: 'terminal stops the walk once it yields', policies: [header('a', true), header('b')], input: req({ a: '1', b: '2' }), want: murmur3('1') },
    { name: 'a terminal that yields nothing does not stop', policies: [header('a', true), header('b')], input: req({ b: '2' }), want: murmur3('2') },
  ];
  for (const c of cases) it(c.name, () => assert.equal(requestHash(c.policies, c.input).hash, c.want));

  it('a cookie with a ttl is generated when absent, hashed, and set on the response', () => {
    const policy: HashPolicy = { kind: 'cookie', name: 'sticky', ttlMs: 3_600_000, path: '/api', terminal: false };
    const r = requestHash([policy], req({}), () => 'c0ffee');
    assert.equal(r.hash, murmur3('c0ffee'));
    assert.deepEqual(r.setCookies, ['sticky="c0ffee"; Max-Age=3600; Path=/api; HttpOnly']);
    // The client sends it back: same hash, nothing set again.
    const again = requestHash([policy], req({ cookie: 'sticky="c0ffee"' }), () => 'other');
    assert.equal(again.hash, r.hash);
    assert.deepEqual(again.setCookies, []);
    // ttl 0: a session cookie (no Max-Age).
    assert.deepEqual(requestHash([{ ...policy, ttlMs: 0, path: '' }], req({}), () => 'v').setCookies, ['sticky="v"; HttpOnly']);
  });

  it('cookieValue and addSetCookies', () => {
    assert.equal(cookieValue('a=1; b=2;c=3', 'c'), '3');
    assert.equal(cookieValue('ab=1', 'a'), undefined);
    assert.equal(cookieValue(undefined, 'a'), undefined);
    const h: Record<string, unknown> = { 'set-cookie': 'up=1' };
    addSetCookies(h, ['s="v"']);
    assert.deepEqual(h['set-cookie'], ['up=1', 's="v"']);
  });
});
