// One proxied request: pick a host, send the request over the host's keep-alive pool (no
// per-request streams on the upstream side), stream the answer back, and apply the route's
// timeout and retry policy. Bodies stream; they are buffered only when a retry might need to
// replay them (and only up to MAX_REPLAY_BODY).
import type { OutgoingHttpHeaders } from 'node:http';
import { LocalReplyReason } from '../errors.js';
import { UPSTREAM_OVERFLOW_FLAG } from '../upstream/circuit-breaker.js';
import type { ClusterRuntime, ClusterStats } from '../upstream/cluster-manager.js';
import type { UpstreamHost } from '../upstream/host.js';
import type { LocalOriginFailure } from '../upstream/outlier-detector.js';
import { PENDING_OVERFLOW, type Exchange, type ExchangeHandler } from '../http1/client.js';
import type { MessageHeaders } from '../http1/parser.js';
import type { ForwardAction, RetryPolicy } from '../xds/model.js';
import type { RequestContext } from './context.js';
import { applyHeaderMutation, forwardableHeaders, sendLocalReply } from './headers.js';
import { grpcStatusOf, RetryState } from './retry-state.js';

/** Bodies up to this size are kept so a retry can resend them; larger ones stream once. */
export const MAX_REPLAY_BODY = 64 * 1024;

const connectErrorCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

type Failure = LocalOriginFailure;

/** One try against one host. `ended` makes completion idempotent across the error, timeout
 * and downstream-close paths. */
class Attempt implements ExchangeHandler {
  exchange: Exchange | undefined;
  ended = false;
  gotResponse = false;
  tryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly fwd: Forward,
    readonly host: UpstreamHost,
  ) {}

  onResponse(status: number, statusMessage: string, headers: MessageHeaders): void {
    this.gotResponse = true;
    this.fwd.onResponseStart(this, status, headers, statusMessage);
  }

  onData(chunk: Buffer): void {
    this.fwd.onResponseData(this, chunk);
  }

  onEnd(): void {
    this.fwd.onResponseEnd(this);
  }

  onError(err: NodeJS.ErrnoException): void {
    this.fwd.onError(this, err);
  }

  /** Give up on this try: no further callbacks. */
  abort(): void {
    this.exchange?.abort();
  }
}

export class Forward {
  private readonly ctx: RequestContext;
  private readonly action: ForwardAction;
  private readonly cluster: ClusterRuntime;
  private readonly stats: ClusterStats;
  private readonly retry: RetryPolicy | undefined;
  private readonly headers: OutgoingHttpHeaders;
  private readonly path: string;
  /** undefined: no body; Buffer: buffered (replayable); null: streamed once. */
  private body: Buffer | null | undefined;
  /** Retry conditions, budget and back-off (retry-state.ts). */
  private readonly retryState: RetryState;
  private attemptCount = 0;
  private current: Attempt | undefined;
  private lastHost: UpstreamHost | undefined;
  private globalTimer: NodeJS.Timeout | undefined;
  /** Set once the exchange is over (answered, failed, or the client left). */
  private done = false;
  /** Whether this attempt's response is being relayed downstream. */
  private relaying: Attempt | undefined;
  private staleRetryUsed = false;

  constructor(ctx: RequestContext, action: ForwardAction, cluster: ClusterRuntime, random: () => number) {
    this.ctx = ctx;
    this.action = action;
    this.cluster = cluster;
    this.stats = cluster.stats;
    this.retry = action.retry;
    this.retryState = new RetryState(action.retry, cluster.resources, cluster.stats, random);
    this.headers = this.buildHeaders();
    this.path = this.rewritePath();
  }

  start(): void {
    const { req, res } = this.ctx;
    const body = req.body;
    res.once('close', () => this.onDownstreamClose());
    if (this.action.timeoutMs > 0) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), this.action.timeoutMs);
    if (!body) {
      this.body = undefined;
      this.sendAttempt();
    } else if (this.retryState.mayRetry && req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length']) <= MAX_REPLAY_BODY) {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.once('end', () => {
        this.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        this.sendAttempt();
      });
    } else {
      this.body = null;
      this.retryState.disable();
      this.sendAttempt();
    }
  }

  private buildHeaders(): OutgoingHttpHeaders {
    const { req, route, vhost, routeConfig } = this.ctx;
    const h = forwardableHeaders(req.headers);
    // 100-continue was already answered by our server; the upstream gets the body directly.
    delete h.expect;
    if (h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = 'http';
    if (this.action.hostRewrite) h.host = this.action.hostRewrite;
    // Most specific first, as Envoy does by default: route, virtual host, route configuration.
    if (route) applyHeaderMutation(h, route.requestHeaders);
    if (vhost) applyHeaderMutation(h, vhost.requestHeaders);
    if (routeConfig) applyHeaderMutation(h, routeConfig.requestHeaders);
    return h;
  }

  private rewritePath(): string {
    const { ctx, action } = this;
    const url = ctx.url;
    if (action.prefixRewrite !== undefined) {
      const m = ctx.route!.match.path;
      const q = url.indexOf('?');
      const rest = m.kind === 'prefix' || m.kind === 'separated_prefix' ? url.slice(m.value.length) : q >= 0 ? url.slice(q) : '';
      const out = action.prefixRewrite + rest;
      return out.startsWith('/') ? out : `/${out}`;
    }
    if (action.regexRewrite) {
      const q = url.indexOf('?');
      const { regex, substitution } = action.regexRewrite;
      return ctx.path.replace(regex, substitution) + (q >= 0 ? url.slice(q) : '');
    }
    return url;
  }

  private sendAttempt(): void {
    if (this.done) return;
    const host = this.retryState.selectHost((avoid) => this.cluster.pick(avoid), this.lastHost);
    if (!host) {
      this.stats.no_healthy_upstream++;
      this.finish();
      sendLocalReply(this.ctx.res, 503, `weft: no healthy upstream for cluster "${this.cluster.name}"`, LocalReplyReason.noHealthyUpstream);
      return;
    }
    // Circuit breaker: every attempt is one of the cluster's max_requests.
    if (!this.cluster.resources.requests.tryAcquire()) return this.replyOverflow('max_requests');
    this.attemptCount++;
    this.lastHost = host;
    host.onRequestStart();
    this.stats.upstream_rq_total++;
    this.headers['x-envoy-attempt-count'] = String(this.attemptCount);
    const attempt = new Attempt(this, host);
    this.current = attempt;
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) attempt.tryTimer = setTimeout(() => this.onTryTimeout(attempt), perTry);
    attempt.exchange = host.pool.request(
      { method: this.ctx.method, path: this.path, headers: this.headers, body: this.body === null ? this.ctx.req.body : this.body, bodyLength: this.ctx.req.contentLength },
      attempt,
    );
  }

  onResponseStart(attempt: Attempt, status: number, upstreamHeaders: MessageHeaders, statusMessage: string): void {
    if (attempt.ended || this.done) {
      attempt.abort();
      return;
    }
    // Outlier detection sees every attempt's status, retried or not.
    this.cluster.putResult(attempt.host, { kind: 'connect_success' });
    this.cluster.putResult(attempt.host, { kind: 'http', status });
    if (this.retryState.decide({ kind: 'response', status, grpcStatus: grpcStatusOf(upstreamHeaders['grpc-status']) }) === 'retry') {
      this.countStatus(status);
      // Drop this answer (and its connection) and try again.
      this.endAttempt(attempt);
      attempt.abort();
      this.scheduleRetry();
      return;
    }
    if (attempt.tryTimer) clearTimeout(attempt.tryTimer);
    this.countStatus(status);
    const { res, route, vhost, routeConfig } = this.ctx;
    const headers = forwardableHeaders(upstreamHeaders);
    headers['x-weft-upstream-cluster'] = this.cluster.name;
    headers['x-weft-upstream-host'] = attempt.host.key;
    if (route) applyHeaderMutation(headers, route.responseHeaders);
    if (vhost) applyHeaderMutation(headers, vhost.responseHeaders);
    if (routeConfig) applyHeaderMutation(headers, routeConfig.responseHeaders);
    this.relaying = attempt;
    if (statusMessage) res.writeHead(status, statusMessage, headers);
    else res.writeHead(status, headers);
  }

  onResponseData(attempt: Attempt, chunk: Buffer): void {
    if (this.relaying !== attempt) return;
    const res = this.ctx.res;
    if (!res.write(chunk)) {
      // Backpressure: stop reading upstream until the client catches up.
      const exchange = attempt.exchange!;
      exchange.pause();
      res.once('drain', () => exchange.resume());
    }
  }

  onResponseEnd(attempt: Attempt): void {
    if (this.relaying !== attempt) return;
    this.endAttempt(attempt);
    this.finish();
    this.ctx.res.end();
  }

  onError(attempt: Attempt, err: NodeJS.ErrnoException): void {
    if (attempt.ended) return;
    this.endAttempt(attempt);
    if (this.done) return;
    const res = this.ctx.res;
    if (attempt.gotResponse || res.headersSent) {
      // The answer was already flowing: all we can do is cut the downstream stream too.
      this.stats.upstream_rq_reset++;
      this.finish();
      res.destroy();
      return;
    }
    // max_pending_requests: answered at once, never retried (as Envoy's pool overflow).
    if (err.code === PENDING_OVERFLOW) return this.replyOverflow('max_pending_requests');
    const failure: Failure = connectErrorCodes.has(err.code ?? '') ? 'connect' : 'reset';
    // A pooled connection the server closed while idle: resend an idempotent request once.
    if (failure === 'reset' && !this.staleRetryUsed && this.body !== null && idempotentMethods.has(this.ctx.method)) {
      this.staleRetryUsed = true;
      this.sendAttempt();
      return;
    }
    if (failure === 'connect') {
      this.stats.upstream_cx_connect_fail++;
      attempt.host.connectFailures++;
    } else {
      this.stats.upstream_rq_reset++;
    }
    attempt.host.errors++;
    this.cluster.putResult(attempt.host, { kind: 'local_failure', failure });
    if (this.retryState.decide({ kind: 'failure', failure }) === 'retry') {
      this.scheduleRetry();
      return;
    }
    this.finish();
    const why = failure === 'connect' ? `connection failure (${err.code ?? err.message})` : `reset (${err.code ?? err.message})`;
    sendLocalReply(
      res,
      503,
      `weft: upstream connect error or disconnect/reset before headers: ${why}`,
      failure === 'connect' ? LocalReplyReason.upstreamConnectFailure : LocalReplyReason.upstreamReset,
    );
  }

  private onTryTimeout(attempt: Attempt): void {
    if (attempt.ended || this.done) return;
    this.stats.upstream_rq_timeout++;
    this.endAttempt(attempt);
    attempt.abort();
    this.cluster.putResult(attempt.host, { kind: 'local_failure', failure: 'timeout' });
    if (this.retryState.decide({ kind: 'failure', failure: 'timeout' }) === 'retry') {
      this.scheduleRetry();
      return;
    }
    this.finish();
    sendLocalReply(this.ctx.res, 504, 'upstream request timeout', LocalReplyReason.upstreamTimeout);
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    this.stats.upstream_rq_timeout++;
    // The host still owing an answer timed out, as far as outlier detection is concerned.
    if (this.current && !this.current.ended) this.cluster.putResult(this.current.host, { kind: 'local_failure', failure: 'timeout' });
    this.abandon();
    sendLocalReply(this.ctx.res, 504, 'upstream request timeout', LocalReplyReason.upstreamTimeout);
  }

  private onDownstreamClose(): void {
    // The client went away before the response completed: abandon the upstream request.
    if (!this.done) this.abandon();
  }

  private abandon(): void {
    const attempt = this.current;
    this.finish();
    if (attempt && !attempt.ended) {
      this.endAttempt(attempt);
      attempt.abort();
    }
  }

  private scheduleRetry(): void {
    setTimeout(() => this.sendAttempt(), this.retryState.backOffMs());
  }

  /** A circuit breaker is full: 503 at once, flagged UO. */
  private replyOverflow(limit: 'max_requests' | 'max_pending_requests'): void {
    this.finish();
    sendLocalReply(this.ctx.res, 503, `weft: cluster "${this.cluster.name}" is over its ${limit} circuit breaker`, LocalReplyReason.overflow, {
      'x-weft-response-flags': UPSTREAM_OVERFLOW_FLAG,
    });
  }

  private endAttempt(a: Attempt): void {
    if (a.ended) return;
    a.ended = true;
    if (a.tryTimer) clearTimeout(a.tryTimer);
    a.host.onRequestEnd();
    this.cluster.resources.requests.release();
  }

  private finish(): void {
    this.done = true;
    this.retryState.release();
    if (this.globalTimer) {
      clearTimeout(this.globalTimer);
      this.globalTimer = undefined;
    }
  }

  private countStatus(status: number): void {
    const s = this.stats;
    if (status < 300) s.upstream_rq_2xx++;
    else if (status < 400) s.upstream_rq_3xx++;
    else if (status < 500) s.upstream_rq_4xx++;
    else s.upstream_rq_5xx++;
  }
}
