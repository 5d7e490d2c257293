// Trace context in request headers: W3C Trace Context (`traceparent`, `tracestate`), B3 single (`b3`)
// and B3 multi (`x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, `x-b3-flags`).
// Extraction prefers W3C, then b3, then x-b3-*; a malformed header counts as absent (the request
// starts a new trace), as in the W3C spec and OpenTelemetry's propagators. Injection always writes
// W3C, and B3 in the style the caller used, so an app that forwards only B3 headers stays in the trace.
// Pure string work: this runs on every request, sampled or not.

/** How the caller sent its context (or its bare sampling decision). */
export type B3Style = 'none' | 'single' | 'multi';

export interface IncomingContext {
  /** 32 lower-case hex; undefined when only a sampling decision came (`b3: 0`, `x-b3-sampled` alone). */
  traceId: string | undefined;
  /** The caller's span: the parent of this proxy's span. */
  parentSpanId: string | undefined;
  /** The upstream decision; undefined: none was made (B3 ids without a sampled flag). */
  sampled: boolean | undefined;
  traceState: string;
  b3: B3Style;
}

type Headers = Record<string, string | string[] | number | undefined>;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  return v === undefined ? undefined : Array.isArray(v) ? v[0] : String(v);
}

/** v[from, to) is lower-case hex, and not all zeros when `nonZero`. A char loop: no slices, no regex. */
function lowerHex(v: string, from: number, to: number, nonZero: boolean): boolean {
  let zero = true;
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i);
    if (c === 48) continue;
    if (!((c > 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    zero = false;
  }
  return !(nonZero && zero);
}

/** A W3C traceparent, or undefined if it is not valid (https://www.w3.org/TR/trace-context/#traceparent-header). */
export function parseTraceparent(v: string): { traceId: string; spanId: string; sampled: boolean } | undefined {
  // version 00 is exactly 55 characters; a later version may append fields after a '-'.
  if (v.length < 55 || v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined;
  if (!lowerHex(v, 0, 2, false) || (v.charCodeAt(0) === 102 && v.charCodeAt(1) === 102)) return undefined;
  const v00 = v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48;
  if (v00 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 45) return undefined;
  if (!lowerHex(v, 3, 35, true) || !lowerHex(v, 36, 52, true) || !lowerHex(v, 53, 55, false)) return undefined;
  const low = v.charCodeAt(54);
  // Bit 0 of the flags: the last hex digit is odd.
  const sampled = ((low <= 57 ? low - 48 : low - 87) & 1) === 1;
  return { traceId: v.slice(3, 35), spanId: v.slice(36, 52), sampled };
}

/** A B3 trace id (64 or 128 bit) as 128-bit hex; undefined if invalid. */
function b3TraceId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const id = v.toLowerCase();
  if (HEX32.test(id)) return id === ZERO32 ? undefined : id;
  if (HEX16.test(id)) return id === ZERO16 ? undefined : ZERO16 + id;
  return undefined;
}

function b3SpanId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const id = v.toLowerCase();
  return HEX16.test(id) && id !== ZERO16 ? id : undefined;
}

/** B3 sampling state: `1`/`true`/`d` (debug) sample, `0`/`false` do not; anything else is no decision. */
function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === '1' || v === 'd' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** `b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]` or a bare `{sampling}`. */
export function parseB3Single(v: string): Omit<IncomingContext, 'traceState' | 'b3'> | undefined {
  if (v.length <= 1) {
    const sampled = b3Sampled(v);
    return sampled === undefined ? undefined : { traceId: undefined, parentSpanId: undefined, sampled };
  }
  const parts = v.split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]);
  const spanId = b3SpanId(parts[1]);
  if (!traceId || !spanId) return undefined;
  let sampled: boolean | undefined;
  if (parts.length >= 3) {
    sampled = b3Sampled(parts[2]);
    if (sampled === undefined) return undefined;
  }
  if (parts.length === 4 && !b3SpanId(parts[3])) return undefined;
  return { traceId, parentSpanId: spanId, sampled };
}

function parseB3Multi(h: Headers): Omit<IncomingContext, 'traceState' | 'b3'> | undefined {
  const rawTrace = one(h, 'x-b3-traceid');
  const flags = one(h, 'x-b3-flags');
  // x-b3-flags: 1 is debug, which implies sampled.
  const sampled = flags === '1' ? true : b3Sampled(one(h, 'x-b3-sampled'));
  if (rawTrace === undefined) return sampled === undefined ? undefined : { traceId: undefined, parentSpanId: undefined, sampled };
  const traceId = b3TraceId(rawTrace);
  const spanId = b3SpanId(one(h, 'x-b3-spanid'));
  if (!traceId || !spanId) return sampled === undefined ? undefined : { traceId: undefined, parentSpanId: undefined, sampled };
  return { traceId, parentSpanId: spanId, sampled };
}

/** The context a request carries, or undefined when it carries none. */
export function extractContext(h: Headers): IncomingContext | undefined {
  const b3 = one(h, 'b3');
  const b3Style: B3Style = b3 !== undefined ? 'single' : h['x-b3-traceid'] !== undefined || h['x-b3-sampled'] !== undefined || h['x-b3-flags'] !== undefined ? 'multi' : 'none';
  const tp = one(h, 'traceparent');
  if (tp !== undefined) {
    const w3c = parseTraceparent(tp.length === 55 ? tp : tp.trim());
    if (w3c) return { traceId: w3c.traceId, parentSpanId: w3c.spanId, sampled: w3c.sampled, traceState: one(h, 'tracestate') ?? '', b3: b3Style };
  }
  if (b3Style === 'none') return undefined;
  const ctx = b3Style === 'single' ? parseB3Single(b3!.trim()) : parseB3Multi(h);
  return ctx && { ...ctx, traceState: '', b3: b3Style };
}

/** What goes upstream: this proxy's span becomes the parent of the next hop's. */
export interface OutgoingContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  traceState: string;
  b3: B3Style;
}

/** Write the context into request headers (replacing what the caller sent). */
export function injectContext(h: Headers, c: OutgoingContext): void {
  h.traceparent = `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`;
  if (c.traceState) h.tracestate = c.traceState;
  if (c.b3 === 'single') {
    h.b3 = `${c.traceId}-${c.spanId}-${c.sampled ? '1' : '0'}`;
  } else if (c.b3 === 'multi') {
    h['x-b3-traceid'] = c.traceId;
    h['x-b3-spanid'] = c.spanId;
    h['x-b3-sampled'] = c.sampled ? '1' : '0';
    // The parent is implied by the span id; a stale x-b3-parentspanid would name the wrong span.
    delete h['x-b3-parentspanid'];
    delete h['x-b3-flags'];
  }
}
