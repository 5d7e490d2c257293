// Generators of HTTP/1.1 messages for the parser, server and pool fuzz tests: mostly well-formed
// messages from the grammar (so the interesting framing paths are reached), each piece with a
// chance of being broken, plus raw bytes. Header names include the Object.prototype names that
// once killed the sidecar.
import fc from 'fast-check';

export const prototypeNames = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf'];

const tokenChar = fc.constantFrom(...'abcxyzABZ019-_.!#$%&\'*+^`|~'.split(''));
export const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
/** Any byte as a latin1 character (what the parser sees). */
/** `arb` once in `n + 1` cases, undefined otherwise. */
export const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> => fc.oneof({ weight: n, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const anyChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const wildString = fc.string({ unit: anyChar, maxLength: 16 });
const valueChar = fc.oneof({ weight: 60, arbitrary: fc.constantFrom(...'abc 019,;=/\t"\x80\xff'.split('')) }, { weight: 1, arbitrary: anyChar });
const value = fc.string({ unit: valueChar, maxLength: 24 });

export const headerName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...prototypeNames, ...prototypeNames.map((n) => n.toUpperCase())) },
  { weight: 4, arbitrary: fc.constantFrom('host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'keep-alive', 'te', 'upgrade', 'x-a', 'set-cookie', 'Content-Length', 'Transfer-Encoding') },
  { weight: 3, arbitrary: token },
  { weight: 1, arbitrary: fc.oneof({ weight: 9, arbitrary: token }, { weight: 1, arbitrary: wildString }) },
);

const headerValueFor = (name: string): fc.Arbitrary<string> => {
  switch (name.toLowerCase()) {
    case 'content-length':
      return fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom('', '-1', '1e3', ' 5', '0x5', '5,5', '99999999999999999', '00'), value);
    case 'transfer-encoding':
      return fc.oneof(fc.constantFrom('chunked', 'Chunked', ' chunked ', 'gzip, chunked', 'chunked, chunked', 'identity', 'chunked;q=1', ''), value);
    case 'connection':
      return fc.oneof(fc.constantFrom('close', 'keep-alive', 'content-length', 'host, x-a', 'Close', 'upgrade'), value);
    case 'expect':
      return fc.constantFrom('100-continue', '100-Continue', 'nope');
    default:
      return value;
  }
};

export const header = headerName.chain((name) => headerValueFor(name).map((v) => [name, v] as const));

/** How a line ends: almost always CRLF. */
const eol = fc.oneof({ weight: 30, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n', '') });

interface ChunkedBody {
  chunks: { data: string; ext: string; sizeText?: string }[];
  trailers: (readonly [string, string])[];
}

const chunkedBody: fc.Arbitrary<ChunkedBody> = fc.record({
  chunks: fc.array(
    fc.record({
      data: fc.string({ unit: anyChar, minLength: 1, maxLength: 20 }),
      ext: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(';a=b', ' ;x', ';"q"', '; a') }),
      sizeText: rarely(fc.constantFrom('', 'zz', '-1', ' 1', '0x1', 'fffffffffffff', '1 1'), 15),
    }),
    { maxLength: 4 },
  ),
  trailers: fc.array(header, { maxLength: 2 }),
});

function renderChunked(b: ChunkedBody, end: string): string {
  let out = '';
  for (const c of b.chunks) out += `${c.sizeText ?? c.data.length.toString(16)}${c.ext}${end}${c.data}\r\n`;
  out += `0${end}`;
  for (const [n, v] of b.trailers) out += `${n}: ${v}${end}`;
  return out + end;
}

type Framing = 'none' | 'length' | 'chunked' | 'both' | 'wrong-length';

/** One message: start line, headers, framing headers and a body that matches them (or not). */
function message(startLine: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .record({
      start: startLine,
      headers: fc.array(header, { maxLength: 6 }),
      framing: fc.constantFrom<Framing>('none', 'none', 'length', 'length', 'chunked', 'chunked', 'both', 'wrong-length'),
      body: fc.string({ unit: anyChar, maxLength: 40 }),
      chunked: chunkedBody,
      eol,
      colonSpace: fc.oneof({ weight: 30, arbitrary: fc.constantFrom(': ', ':', ':\t', ':  ') }, { weight: 1, arbitrary: fc.constant(' : ') }),
    })
    .map((m) => {
      const lines = [m.start];
      for (const [n, v] of m.headers) lines.push(`${n}${m.colonSpace}${v}`);
      let body = '';
      if (m.framing === 'length' || m.framing === 'both' || m.framing === 'wrong-length') {
        lines.push(`content-length: ${m.framing === 'wrong-length' ? m.body.length + 3 : m.body.length}`);
        body = m.body;
      }
      if (m.framing === 'chunked' || m.framing === 'both') {
        lines.push('transfer-encoding: chunked');
        body = renderChunked(m.chunked, m.eol);
      }
      return lines.join(m.eol) + m.eol + m.eol + body;
    });
}

const method = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS') }, { weight: 2, arbitrary: token }, { weight: 1, arbitrary: wildString });
const target = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('/', '/a/b?c=d', '/%2e%2e/x', '//x', '*', 'http://h/p') },
  { weight: 1, arbitrary: fc.constantFrom('h:80', '', 'a b') },
  { weight: 1, arbitrary: wildString },
);
const version = fc.oneof({ weight: 24, arbitrary: fc.constant('HTTP/1.1') }, { weight: 6, arbitrary: fc.constant('HTTP/1.0') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', '') });

export const requestLine = fc.tuple(method, target, version).map(([m, t, v]) => `${m} ${t} ${v}`);
/** A request that carries a Host header most of the time (or it is refused outright). */
export const request = fc
  .tuple(message(requestLine), fc.constantFrom('host: a\r\n', 'host: a\r\n', 'host: a\r\n', ''))
  .map(([msg, host]) => {
    const firstEol = msg.indexOf('\r\n');
    return firstEol < 0 ? msg : msg.slice(0, firstEol + 2) + host + msg.slice(firstEol + 2);
  });

const status = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(200, 200, 204, 304, 404, 500, 100, 103, 199) }, { weight: 1, arbitrary: fc.constant(101) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1200 }) });
const reason = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(' OK', ' Not Found', '', ' ') }, { weight: 1, arbitrary: wildString.map((s) => ` ${s}`) });
export const statusLine = fc.tuple(version, status, reason).map(([v, s, r]) => `${v} ${s}${r}`);
export const response = message(statusLine);

/** Several requests in one stream (pipelining), sometimes followed by garbage. */
export const requestStream = fc
  .tuple(fc.array(request, { minLength: 1, maxLength: 3 }), rarely(wildString, 4))
  .map(([msgs, tail]) => Buffer.from(msgs.join('') + (tail ?? ''), 'latin1'));

/** Interim responses, a final one, sometimes trailing bytes. */
export const responseStream = fc
  .tuple(fc.array(fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n'), { maxLength: 2 }), response, rarely(wildString, 4))
  .map(([interim, msg, tail]) => Buffer.from(interim.join('') + msg + (tail ?? ''), 'latin1'));

export const rawBytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));

/** Cut points for a buffer of length n: whole, byte by byte, or random pieces. */
export function splitsOf(n: number): fc.Arbitrary<number[]> {
  return fc.oneof(
    fc.constant<number[]>([n]),
    fc.constant<number[]>(Array.from({ length: n }, () => 1)),
    fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 40 }),
  );
}

/** `data` cut into pieces of the given sizes (the last piece takes the rest). */
export function cut(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const s of sizes) {
    if (at >= data.length) break;
    out.push(data.subarray(at, at + s));
    at += s;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}
