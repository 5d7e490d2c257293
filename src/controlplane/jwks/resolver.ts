// The control plane's JWKS resolver (istiod's jwks resolver idea): RequestAuthentication jwksUri
// keys are fetched here, not by proxies, and inlined into jwt_authn configs. Each fetch is bounded
// (timeout, size cap); key sets are refreshed periodically (istiod: every 20 min); a failed refresh
// keeps the last good set; a URI nobody asked for in a while is dropped.
import http from 'node:http';
import https from 'node:https';

export interface JwksResolverOptions {
  /** Per fetch (istiod's default is 5 s). */
  timeoutMs?: number;
  /** Largest body accepted. */
  maxBytes?: number;
  /** 0: no periodic refresh (tests drive refresh()). */
  refreshIntervalMs?: number;
  /** A URI not asked for during this long is forgotten at the next refresh. */
  evictAfterMs?: number;
  /** Extra trust for https jwksUri (PEM), e.g. a private issuer. */
  ca?: string | Buffer;
  /** Called when a URI's key set changed (a push should follow). */
  onChange?: (uri: string) => void;
  /** Problems, each with WEFT_E_JWKS_FETCH and the URI. */
  onError?: (message: string) => void;
  now?: () => number;
}

interface Entry {
  jwks: string | undefined;
  lastError: string | undefined;
  lastAsked: number;
  inFlight: Promise<void> | undefined;
}

const DEFAULTS = { timeoutMs: 5_000, maxBytes: 1 << 20, refreshIntervalMs: 20 * 60_000, evictAfterMs: 60 * 60_000 };

export class JwksResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly o: JwksResolverOptions & typeof DEFAULTS;
  private timer: NodeJS.Timeout | undefined;

  constructor(o: JwksResolverOptions = {}) {
    this.o = { ...DEFAULTS, ...o };
    if (this.o.refreshIntervalMs > 0) {
      this.timer = setInterval(() => void this.refresh(), this.o.refreshIntervalMs);
      this.timer.unref();
    }
  }

  /** The key set (JSON text) known for `uri`, if any; starts a fetch the first time it is asked. */
  get(uri: string): string | undefined {
    let e = this.entries.get(uri);
    if (!e) {
      e = { jwks: undefined, lastError: undefined, lastAsked: this.now(), inFlight: undefined };
      this.entries.set(uri, e);
      void this.fetchInto(uri, e);
    }
    e.lastAsked = this.now();
    return e.jwks;
  }

  /** Resolve `uri` now (or wait for the fetch under way); the key set or undefined. */
  async resolve(uri: string): Promise<string | undefined> {
    this.get(uri);
    const e = this.entries.get(uri)!;
    await e.inFlight;
    return e.jwks;
  }

  /** Whether `uri` is being tracked (asked for and not evicted). */
  has(uri: string): boolean {
    return this.entries.has(uri);
  }

  lastError(uri: string): string | undefined {
    return this.entries.get(uri)?.lastError;
  }

  /** Refetch every URI still in use; forget the ones nobody asked for lately. */
  async refresh(): Promise<void> {
    const now = this.now();
    const work: Promise<void>[] = [];
    for (const [uri, e] of this.entries) {
      if (now - e.lastAsked > this.o.evictAfterMs) this.entries.delete(uri);
      else work.push(this.fetchInto(uri, e));
    }
    await Promise.all(work);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private fetchInto(uri: string, e: Entry): Promise<void> {
    e.inFlight ??= fetchJwks(uri, this.o)
      .then((text) => {
        e.lastError = undefined;
        if (text !== e.jwks) {
          e.jwks = text;
          this.o.onChange?.(uri);
        }
      })
      .catch((err: Error) => {
        // Keep serving the last good set: a flapping issuer must not turn every token into a 401.
        e.lastError = `jwksUri ${uri}: ${err.message} [WEFT_E_JWKS_FETCH]`;
        this.o.onError?.(e.lastError);
      })
      .finally(() => (e.inFlight = undefined));
    return e.inFlight;
  }
}

/** GET a JWKS: 200, at most maxBytes, within timeoutMs, JSON with a `keys` array; its canonical text. */
export function fetchJwks(uri: string, o: { timeoutMs: number; maxBytes: number; ca?: string | Buffer }): Promise<string> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return reject(new Error('not a URL'));
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return reject(new Error(`scheme ${url.protocol} is not supported`));
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { timeout: o.timeoutMs, ...(url.protocol === 'https:' && o.ca ? { ca: o.ca } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`status ${res.statusCode}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) {
          req.destroy(new Error(`body over ${o.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        try {
          const jwks = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys?: unknown };
          if (!Array.isArray(jwks.keys)) throw new Error('no "keys" array');
          resolve(JSON.stringify({ keys: jwks.keys }));
        } catch (err) {
          reject(new Error(`not a JWKS: ${(err as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    // A whole-fetch deadline, not only an idle one: a server trickling bytes is cut too.
    const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
  });
}
