// Property-based fuzzing of the header maps on the request path: names from the network or from
// config (prototype names included) are ordinary keys — copied, stripped and mutated without
// touching Object.prototype and without an entry vanishing or appearing.
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createHeaderMap, headerMapFrom, type HeaderMap } from '../../src/proxy/http/header-map.js';
import { applyHeaderMutation, forwardableHeaders } from '../../src/proxy/http/headers.js';
import type { HeaderAppendAction, HeaderMutation } from '../../src/proxy/xds/model.js';
import { prototypeNames } from './http1-gen.js';
import { fuzzParams, fuzzTimeout } from './options.js';
import { isPrototypeFree } from '../../src/proxy/http/header-map.js';

const hopByHop = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization'];
const name = fc.oneof(fc.constantFrom(...prototypeNames, ...hopByHop, 'host', 'content-length', 'set-cookie', 'x-a', 'x-b'), fc.stringMatching(/^[a-z0-9-]{1,6}$/));
const value = fc.oneof(fc.constantFrom('v', '', 'close', 'keep-alive'), fc.stringMatching(/^[a-z ,-]{0,10}$/));
const fieldValue = fc.oneof(value, fc.array(value, { minLength: 2, maxLength: 3 }));

/** A parsed header map as the parser builds it (prototype-free), with a Connection header naming some of them. */
const parsed = fc
  .tuple(fc.array(fc.tuple(name, fieldValue), { maxLength: 8 }), fc.array(name, { maxLength: 3 }), fc.boolean())
  .map(([entries, nominated, withConnection]) => {
    const h = createHeaderMap();
    for (const [k, v] of entries) h[k] = v;
    if (withConnection) h.connection = nominated.join(', ') || 'close';
    return h;
  });

const action = fc.constantFrom<HeaderAppendAction>('append', 'add_if_absent', 'overwrite', 'overwrite_if_exists');
const mutation: fc.Arbitrary<HeaderMutation> = fc.record({
  add: fc.array(fc.record({ key: name, value, action }), { maxLength: 5 }),
  remove: fc.array(name, { maxLength: 3 }),
});

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

describe('fuzz: header maps', { timeout: fuzzTimeout }, () => {
  const before = protoKeys();

  it('forwardableHeaders: drops exactly the hop-by-hop and nominated fields, keeps every other', () => {
    fc.assert(
      fc.property(parsed, (src) => {
        const out = forwardableHeaders(src);
        assert.ok(isPrototypeFree(out));
        const raw = src.connection;
        const connection = (Array.isArray(raw) ? raw.join(',') : raw ?? '').toLowerCase();
        const named = connection === 'keep-alive' || connection === 'close' ? new Set<string>() : new Set(connection.split(',').map((s) => s.trim()));
        for (const k of Object.keys(src)) {
          const dropped = hopByHop.includes(k) || (named.has(k) && k !== 'content-length' && k !== 'host');
          if (dropped) assert.ok(!Object.hasOwn(out, k), `${k} is dropped`);
          else assert.deepEqual(out[k], src[k], `${k} is kept`);
        }
        for (const k of Object.keys(out)) assert.ok(Object.hasOwn(src, k), `${k} came from the source`);
      }),
      fuzzParams(2000),
    );
  });

  it('applyHeaderMutation: each action does what it says, for every name', () => {
    fc.assert(
      fc.property(parsed, mutation, (src, m) => {
        const headers = headerMapFrom(src as OutgoingHttpHeaders);
        // A model of the mutation over a Map (which has no prototype names to collide with).
        const want = new Map<string, unknown>(Object.entries(src));
        for (const k of m.remove) want.delete(k);
        for (const { key, value: v, action: a } of m.add) {
          const existing = want.get(key);
          if (a === 'overwrite' || (existing === undefined ? a !== 'overwrite_if_exists' : a === 'overwrite_if_exists')) want.set(key, v);
          else if (a === 'append') want.set(key, Array.isArray(existing) ? [...existing, v] : key === 'set-cookie' ? [String(existing), v] : `${existing},${v}`);
        }
        applyHeaderMutation(headers, m);
        assert.ok(isPrototypeFree(headers));
        assert.deepEqual(new Map(Object.entries(headers)), want);
      }),
      fuzzParams(2000),
    );
  });

  it('headerMapFrom: a caller map with an own __proto__ key is copied, not turned into a prototype', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 6 }), (entries) => {
        const src = Object.fromEntries(entries) as HeaderMap;
        const copy = headerMapFrom(src);
        assert.ok(isPrototypeFree(copy));
        assert.deepEqual(Object.entries(copy), Object.entries(src));
      }),
      fuzzParams(500),
    );
    assert.deepEqual(protoKeys(), before, 'Object.prototype untouched');
  });
});
