// Trace context in headers: W3C traceparent (valid and invalid forms), B3 single and multi (with
// sampling flags and 64-bit ids), the precedence between them, and what goes upstream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractContext, injectContext, parseTraceparent, type IncomingContext } from '../../src/proxy/telemetry/tracing/propagation.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  const cases: Array<{ name: string; input: string; want: { traceId: string; spanId: string; sampled: boolean } | undefined }> = [
    { name: 'sampled', input: `00-${T}-${S}-01`, want: { traceId: T, spanId: S, sampled: true } },
    { name: 'not sampled', input: `00-${T}-${S}-00`, want: { traceId: T, spanId: S, sampled: false } },
    { name: 'other flag bits: only bit 0 is sampled', input: `00-${T}-${S}-03`, want: { traceId: T, spanId: S, sampled: true } },
    { name: 'a later version with more fields', input: `01-${T}-${S}-01-extra`, want: { traceId: T, spanId: S, sampled: true } },
    { name: 'version ff is invalid', input: `ff-${T}-${S}-01`, want: undefined },
    { name: 'version 00 with trailing data', input: `00-${T}-${S}-01-extra`, want: undefined },
    { name: 'upper-case hex', input: `00-${T.toUpperCase()}-${S}-01`, want: undefined },
    { name: 'all-zero trace id', input: `00-${'0'.repeat(32)}-${S}-01`, want: undefined },
    { name: 'all-zero span id', input: `00-${T}-${'0'.repeat(16)}-01`, want: undefined },
    { name: 'short trace id', input: `00-${T.slice(2)}-${S}-01`, want: undefined },
    { name: 'non-hex flags', input: `00-${T}-${S}-0x`, want: undefined },
    { name: 'wrong separators', input: `00_${T}_${S}_01`, want: undefined },
    { name: 'empty', input: '', want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseTraceparent(c.input), c.want));
});

describe('extractContext', () => {
  const ctx = (o: Partial<IncomingContext>): IncomingContext => ({ traceId: undefined, parentSpanId: undefined, sampled: undefined, traceState: '', b3: 'none', ...o });
  const cases: Array<{ name: string; headers: Record<string, string>; want: IncomingContext | undefined }> = [
    { name: 'no context', headers: {}, want: undefined },
    { name: 'W3C with tracestate', headers: { traceparent: `00-${T}-${S}-01`, tracestate: 'a=1,b=2' }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, traceState: 'a=1,b=2' }) },
    { name: 'invalid W3C is no context', headers: { traceparent: `00-${T}-${S}` }, want: undefined },
    { name: 'invalid W3C falls back to B3', headers: { traceparent: 'junk', b3: `${T}-${S}-1` }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'single' }) },
    { name: 'W3C wins over B3, and B3 style is remembered', headers: { traceparent: `00-${T}-${S}-00`, 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16) }, want: ctx({ traceId: T, parentSpanId: S, sampled: false, b3: 'multi' }) },
    { name: 'b3 single sampled with parent', headers: { b3: `${T}-${S}-1-${'c'.repeat(16)}` }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'single' }) },
    { name: 'b3 single debug', headers: { b3: `${T}-${S}-d` }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'single' }) },
    { name: 'b3 single without a decision', headers: { b3: `${T}-${S}` }, want: ctx({ traceId: T, parentSpanId: S, sampled: undefined, b3: 'single' }) },
    { name: 'b3 single 64-bit trace id is padded', headers: { b3: `a3ce929d0e0e4736-${S}-0` }, want: ctx({ traceId: '0000000000000000a3ce929d0e0e4736', parentSpanId: S, sampled: false, b3: 'single' }) },
    { name: 'b3: 0 is a bare decision', headers: { b3: '0' }, want: ctx({ sampled: false, b3: 'single' }) },
    { name: 'b3: 1 is a bare decision', headers: { b3: '1' }, want: ctx({ sampled: true, b3: 'single' }) },
    { name: 'b3 single with a bad sampling state', headers: { b3: `${T}-${S}-x` }, want: undefined },
    { name: 'b3 single with a bad span id', headers: { b3: `${T}-xyz-1` }, want: undefined },
    { name: 'x-b3 multi sampled', headers: { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'multi' }) },
    { name: 'x-b3 multi sampled=true (old form)', headers: { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'true' }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'multi' }) },
    { name: 'x-b3 multi not sampled', headers: { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '0' }, want: ctx({ traceId: T, parentSpanId: S, sampled: false, b3: 'multi' }) },
    { name: 'x-b3-flags 1 (debug) samples', headers: { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1' }, want: ctx({ traceId: T, parentSpanId: S, sampled: true, b3: 'multi' }) },
    { name: 'x-b3-sampled alone is a bare decision', headers: { 'x-b3-sampled': '0' }, want: ctx({ sampled: false, b3: 'multi' }) },
    { name: 'x-b3 multi upper-case ids are accepted', headers: { 'x-b3-traceid': T.toUpperCase(), 'x-b3-spanid': S.toUpperCase() }, want: ctx({ traceId: T, parentSpanId: S, b3: 'multi' }) },
    { name: 'x-b3 multi without a span id keeps only the decision', headers: { 'x-b3-traceid': T, 'x-b3-sampled': '1' }, want: ctx({ sampled: true, b3: 'multi' }) },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(extractContext(c.headers), c.want));
});

describe('injectContext', () => {
  it('writes W3C always, and B3 in the style the caller used', () => {
    const none: Record<string, string> = {};
    injectContext(none, { traceId: T, spanId: S, sampled: true, traceState: '', b3: 'none' });
    assert.deepEqual(none, { traceparent: `00-${T}-${S}-01` });
    const single: Record<string, string> = { b3: 'old' };
    injectContext(single, { traceId: T, spanId: S, sampled: false, traceState: 'k=v', b3: 'single' });
    assert.deepEqual(single, { traceparent: `00-${T}-${S}-00`, tracestate: 'k=v', b3: `${T}-${S}-0` });
    const multi: Record<string, string> = { 'x-b3-traceid': 'x', 'x-b3-spanid': 'y', 'x-b3-parentspanid': 'z', 'x-b3-flags': '1' };
    injectContext(multi, { traceId: T, spanId: S, sampled: true, traceState: '', b3: 'multi' });
    assert.deepEqual(multi, { traceparent: `00-${T}-${S}-01`, 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' });
  });

  it('what is injected extracts to the same context (the next hop continues it)', () => {
    for (const b3 of ['none', 'single', 'multi'] as const) {
      const h: Record<string, string> = {};
      injectContext(h, { traceId: T, spanId: S, sampled: true, traceState: '', b3 });
      assert.deepEqual(extractContext(h), { traceId: T, parentSpanId: S, sampled: true, traceState: '', b3 });
    }
  });
});
