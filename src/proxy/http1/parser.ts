// HTTP/1.1 message parsing (RFC 9112) for both sides of the proxy: requests from downstream
// clients and responses from upstreams. It is fed socket reads of any size — a message may
// arrive byte by byte or several at once — and reports the head, body slices and completion.
// Strict on purpose: a proxy that guesses at message framing is how requests get smuggled and
// responses desynchronised. Anything malformed throws an Http1ParseError.
import { ProxyError } from '../errors.js';
import { createHeaderMap, type HeaderMap } from '../http/header-map.js';

/** Lower-case names; a repeated field is a list (a prototype-free map: see header-map.ts). */
export type MessageHeaders = HeaderMap;

export interface RequestHead {
  method: string;
  /** The request-target as sent (origin-form, absolute-form or `*`). */
  target: string;
  http10: boolean;
  headers: MessageHeaders;
  /** The client allows the connection to carry another request afterwards. */
  keepAlive: boolean;
  /** The request has a body (content-length > 0 or chunked). */
  hasBody: boolean;
  /** The body's length when content-length framed it; -1 when chunked or absent. */
  contentLength: number;
}

export interface ResponseHead {
  status: number;
  statusMessage: string;
  headers: MessageHeaders;
}

export interface ParserEvents {
  /** A complete request head (request parsers). */
  onRequestHead?(head: RequestHead): void;
  /** The final, non-1xx response head (response parsers). */
  onResponseHead?(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The message is complete; `reusable` says whether the connection may carry another. */
  onComplete(reusable: boolean): void;
}

export class Http1ParseError extends ProxyError {
  /** The header section exceeded its limit (a server answers 431). */
  readonly headerOverflow: boolean;
  /** A transfer coding other than chunked (a server answers 501, RFC 9112 §6.1). */
  readonly unsupportedCoding: boolean;
  constructor(side: 'request' | 'response', message: string, headerOverflow = false, unsupportedCoding = false) {
    super(side === 'request' ? 'WEFT_E_DOWNSTREAM_PROTOCOL' : 'WEFT_E_UPSTREAM_PROTOCOL', `malformed ${side}: ${message}`);
    this.name = 'Http1ParseError';
    this.headerOverflow = headerOverflow;
    this.unsupportedCoding = unsupportedCoding;
  }
}

const enum State {
  StartLine,
  HeaderLine,
  FixedBody,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilEof,
  Done,
  /** The exchange was abandoned mid-message: ignore the rest of this read. */
  Halted,
}

const LF = 10;
const statusLinePattern = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^]*))?$/;
const requestLinePattern = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP\/1\.([01])$/;
const absoluteFormPattern = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
export const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values and reason phrases: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5). */
export const invalidValueChar = /[^\t\x20-\x7e\x80-\xff]/;
const chunkSizePattern = /^[0-9a-fA-F]{1,12}$/;
const contentLengthPattern = /^\d{1,15}$/;
const closeToken = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const keepAliveToken = /(?:^|,)[ \t]*keep-alive[ \t]*(?:,|$)/i;
/** The only transfer coding relayed: a proxy that drops gzip from `gzip, chunked` corrupts the body. */
const chunkedOnly = /^[ \t]*chunked[ \t]*$/i;
const MAX_CHUNK_SIZE_LINE = 4096;

export class Http1Parser {
  private state = State.Done;
  /** Responses: false for the answer to HEAD. */
  private expectBody = true;
  /** Bytes of the current line seen in earlier reads (lines may be split across reads). */
  private partialLine = '';
  private lineBytes = 0;
  private method = '';
  private target = '';
  private status = 0;
  private statusMessage = '';
  private headers: MessageHeaders = createHeaderMap();
  private http10 = false;
  private contentLength = -1;
  private transferEncoding = false;
  private chunked = false;
  private keepAlive = true;
  private remaining = 0;

  constructor(
    private readonly side: 'request' | 'response',
    private readonly events: ParserEvents,
    private readonly maxHeaderBytes: number,
  ) {}

  /** Expect the next message (for a response: `hasBody` false when answering HEAD; `upgrade`: the
   * request asked to switch protocols, so a 101 is the final head and the bytes after it are not HTTP). */
  expect(hasBody = true, upgrade = false): void {
    this.expectBody = hasBody;
    this.upgrade = upgrade;
    this.startHead();
  }
  private upgrade = false;

  /** Whether a message is under way (bytes arriving now belong to it). */
  get busy(): boolean {
    return this.state !== State.Done && this.state !== State.Halted;
  }

  /** Whether the current message started (some of it arrived). */
  get started(): boolean {
    return this.busy && (this.state !== State.StartLine || this.partialLine !== '');
  }

  /** The connection closed: finish a read-until-EOF body. Returns false if the close cut a message short. */
  finishOnEof(): boolean {
    if (this.state !== State.UntilEof) return this.state === State.Done;
    this.state = State.Done;
    this.events.onComplete(false);
    return true;
  }

  /** Stop delivering the current message (its exchange was abandoned). */
  halt(): void {
    this.state = State.Halted;
    this.partialLine = '';
  }

  /** Parse one read; returns the bytes consumed. Parsing stops at the end of a message, so
   * what follows (a pipelined request, or stray bytes after a response) is left to the caller. */
  execute(data: Buffer): number {
    const len = data.length;
    let i = 0;
    while (i < len) {
      switch (this.state) {
        case State.StartLine:
        case State.HeaderLine:
        case State.ChunkSize:
        case State.Trailers: {
          const lf = data.indexOf(LF, i);
          // Exactly the bytes of this read (the LF included): the limit must not depend on how the
          // stream was cut into reads.
          this.countLineBytes((lf < 0 ? len : lf + 1) - i);
          if (lf < 0) {
            this.partialLine += data.toString('latin1', i, len);
            return len;
          }
          let line = data.toString('latin1', i, lf);
          if (this.partialLine) {
            line = this.partialLine + line;
            this.partialLine = '';
          }
          i = lf + 1;
          if (line.charCodeAt(line.length - 1) !== 13) throw this.error('line not terminated by CRLF');
          this.onLine(line.slice(0, -1));
          // (onLine and the callbacks it makes move the state on; re-read it.)
          const after = this.state as State;
          if (after === State.Done) return this.complete(i, len);
          if (after === State.Halted) return len;
          break;
        }
        case State.FixedBody:
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - i);
          this.events.onBody(i === 0 && n === len ? data : data.subarray(i, i + n));
          if ((this.state as State) === State.Halted) return len;
          i += n;
          this.remaining -= n;
          if (this.remaining > 0) break;
          if (this.state === State.ChunkData) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
            break;
          }
          this.state = State.Done;
          return this.complete(i, len);
        }
        case State.ChunkDataEnd: {
          // The CRLF after a chunk's data, possibly split between reads.
          if (data[i] !== (this.remaining === 2 ? 13 : LF)) throw this.error('chunk data not followed by CRLF');
          i++;
          if (--this.remaining === 0) this.startLine(State.ChunkSize);
          break;
        }
        case State.UntilEof:
          this.events.onBody(i === 0 ? data : data.subarray(i));
          return len;
        case State.Done:
          throw this.error('data received with no message expected');
        case State.Halted:
          return len;
      }
    }
    return len;
  }

  private complete(consumed: number, len: number): number {
    // A response connection carries one request at a time: nothing may follow its answer.
    this.events.onComplete(this.keepAlive && (this.side === 'request' || consumed === len));
    return consumed;
  }

  private error(message: string, headerOverflow = false): Http1ParseError {
    return new Http1ParseError(this.side, message, headerOverflow);
  }

  private startHead(): void {
    this.headers = createHeaderMap();
    this.contentLength = -1;
    this.transferEncoding = false;
    this.chunked = false;
    this.keepAlive = true;
    this.startLine(State.StartLine);
    this.lineBytes = 0;
  }

  private startLine(state: State): void {
    this.state = state;
    this.partialLine = '';
    if (state === State.ChunkSize || state === State.Trailers) this.lineBytes = 0;
  }

  private countLineBytes(n: number): void {
    this.lineBytes += n;
    if (this.state === State.ChunkSize) {
      if (this.lineBytes > MAX_CHUNK_SIZE_LINE) throw this.error('chunk size line too long');
    } else if (this.lineBytes > this.maxHeaderBytes) throw this.error('header section too large', true);
  }

  private onLine(line: string): void {
    switch (this.state) {
      case State.StartLine:
        // A robust server ignores empty lines before a request line (RFC 9112 §2.2).
        if (line === '' && this.side === 'request') return;
        return this.side === 'request' ? this.onRequestLine(line) : this.onStatusLine(line);
      case State.HeaderLine:
        return line === '' ? this.onHeadersComplete() : this.onHeaderLine(line);
      case State.ChunkSize:
        return this.onChunkSize(line);
      case State.Trailers:
        // Trailers are checked and dropped: neither side forwards chunked-with-trailers.
        if (line === '') this.state = State.Done;
        else this.checkFieldLine(line);
        return;
    }
  }

  private onRequestLine(line: string): void {
    const m = requestLinePattern.exec(line);
    if (!m) throw this.error('bad request line');
    // Origin-form, absolute-form or `*`; authority-form (CONNECT tunnels) is not served.
    const target = m[2];
    if (target.charCodeAt(0) !== 47 /* '/' */ && target !== '*' && !absoluteFormPattern.test(target)) throw this.error('unsupported request target');
    this.method = m[1];
    this.target = m[2];
    this.http10 = m[3] === '0';
    this.keepAlive = !this.http10;
    this.state = State.HeaderLine;
  }

  private onStatusLine(line: string): void {
    const m = statusLinePattern.exec(line);
    if (!m) throw this.error('bad status line');
    const reason = m[3] ?? '';
    if (invalidValueChar.test(reason)) throw this.error('bad reason phrase');
    this.http10 = m[1] === '0';
    this.keepAlive = !this.http10;
    this.status = Number(m[2]);
    this.statusMessage = reason;
    this.state = State.HeaderLine;
  }

  /** Validate one field line; returns the colon's index. */
  private checkFieldLine(line: string): number {
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) throw this.error('obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0 || !tokenPattern.test(line.slice(0, colon))) throw this.error('bad header name');
    return colon;
  }

  private onHeaderLine(line: string): void {
    const colon = this.checkFieldLine(line);
    const name = line.slice(0, colon).toLowerCase();
    const value = trimOws(line, colon + 1);
    if (invalidValueChar.test(value)) throw this.error(`bad value for header "${name}"`);
    const existing = this.headers[name];
    switch (name) {
      case 'content-length': {
        if (!contentLengthPattern.test(value)) throw this.error('bad content-length');
        const n = Number(value);
        if (this.contentLength >= 0 && this.contentLength !== n) throw this.error('conflicting content-length');
        if (this.contentLength >= 0) return; // an identical repeat: keep one
        this.contentLength = n;
        break;
      }
      case 'transfer-encoding':
        // Codings other than chunked (gzip, identity, repeats) are refused, not re-framed.
        if (this.transferEncoding || !chunkedOnly.test(value)) throw new Http1ParseError(this.side, `unsupported transfer-encoding "${value}"`, false, true);
        this.transferEncoding = true;
        this.chunked = true;
        break;
      case 'connection':
        if (closeToken.test(value)) this.keepAlive = false;
        else if (this.http10 && keepAliveToken.test(value)) this.keepAlive = true;
        break;
      case 'host':
        if (existing !== undefined && this.side === 'request') throw this.error('more than one host header');
        break;
    }
    if (existing === undefined) this.headers[name] = value;
    else if (typeof existing === 'string') this.headers[name] = [existing, value];
    else existing.push(value);
  }

  private onHeadersComplete(): void {
    if (this.transferEncoding && this.contentLength >= 0) throw this.error('both content-length and transfer-encoding');
    if (this.side === 'request') this.onRequestHeadersComplete();
    else this.onResponseHeadersComplete();
  }

  private onRequestHeadersComplete(): void {
    if (this.transferEncoding && !this.chunked) throw this.error('transfer-encoding does not end with chunked');
    if (!this.http10 && this.headers.host === undefined) throw this.error('missing host header');
    const hasBody = this.chunked || this.contentLength > 0;
    this.events.onRequestHead!({ method: this.method, target: this.target, http10: this.http10, headers: this.headers, keepAlive: this.keepAlive, hasBody, contentLength: this.chunked ? -1 : this.contentLength });
    if (this.state === State.Halted) return;
    this.startBody(hasBody);
  }

  private onResponseHeadersComplete(): void {
    const status = this.status;
    if (status < 200) {
      if (status === 101) {
        // Only an upgrade request may be answered by switching protocols.
        if (!this.upgrade) throw this.error('unexpected 101 Switching Protocols');
        this.events.onResponseHead!({ status, statusMessage: this.statusMessage, headers: this.headers });
        if (this.state !== State.Halted) this.state = State.Done;
        return;
      }
      // Interim responses (100 Continue, 103 Early Hints) are skipped; the final one follows.
      this.startHead();
      return;
    }
    this.events.onResponseHead!({ status, statusMessage: this.statusMessage, headers: this.headers });
    if (this.state === State.Halted) return;
    if (!this.expectBody || status === 204 || status === 304) this.state = State.Done;
    else if (this.transferEncoding && !this.chunked) {
      // A response framed by another coding runs to the connection's close.
      this.keepAlive = false;
      this.state = State.UntilEof;
    } else if (this.chunked || this.contentLength >= 0) this.startBody(true);
    else {
      this.keepAlive = false;
      this.state = State.UntilEof;
    }
  }

  private startBody(hasBody: boolean): void {
    if (!hasBody) this.state = State.Done;
    else if (this.chunked) this.startLine(State.ChunkSize);
    else {
      this.remaining = this.contentLength;
      this.state = this.contentLength === 0 ? State.Done : State.FixedBody;
    }
  }

  private onChunkSize(line: string): void {
    const semi = line.indexOf(';');
    const size = trimOws(semi < 0 ? line : line.slice(0, semi), 0);
    if (!chunkSizePattern.test(size)) throw this.error('bad chunk size');
    const n = parseInt(size, 16);
    if (n === 0) return this.startLine(State.Trailers);
    this.remaining = n;
    this.state = State.ChunkData;
  }
}

function trimOws(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}
