// One proxied request (the router's upstream side): pick a host, send the request over the host's
// keep-alive pool (no per-request streams on the upstream side), stream the answer back, and apply
// the route's timeout and retry policy. Bodies stream; they are buffered only when a retry might
// need to replay them (and only up to MAX_REPLAY_BODY). Each attempt's outcome is typed and written
// into the stream record; the stream's completion (onStreamComplete) releases whatever is left.
import { GrpcFrameCounter } from './grpc-frames.js';
import type { OutgoingHttpHeaders } from 'node:http';
import { effectiveTimeoutMs } from './grpc-timeout.js';
import type { ClusterRuntime, ClusterStats } from '../upstream/cluster-manager.js';
import type { UpstreamHost } from '../upstream/host.js';
import type { ExchangeHandler, UpstreamExchange } from '../upstream/pool.js';
import type { LocalOriginFailure } from '../upstream/outlier-detector.js';
import { UPSTREAM_TLS_ERROR, type UpstreamTlsInfo } from '../upstream/connector.js';
import { PENDING_OVERFLOW } from '../http1/client.js';
import { requestUpgrade } from '../http1/upgrade.js';
import { openTunnel, type Tunnel } from './upgrade-tunnel.js';
import { sendMirrors } from './mirror.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type net from 'node:net';
import type { HeaderMap } from './header-map.js';
import type { ForwardAction, RetryPolicy } from '../xds/model.js';
import { applyHeaderMutation, forwardableHeaders } from './headers.js';
import { sendLocalReply } from './local-reply.js';
import { ResponseFlag } from './response-flags.js';
import type { UpstreamFailure } from './stream-info.js';
import type { HttpStream } from './stream.js';
import { grpcStatusOf, RetryState, type RetryDecision } from './retry-state.js';
import { addSetCookies, NO_HASH, requestHash } from './hash-policy.js';
import type { LbContext } from '../upstream/load-balancer.js';
import { originalDstFor } from '../upstream/original-dst-hosts.js';

/** Bodies up to this size are kept so a retry can resend them; larger ones stream once. */
export const MAX_REPLAY_BODY = 64 * 1024;

const connectErrorCodes = new Set(['EREFUSEDSTREAM', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** One try against one host. `ended` makes completion idempotent across the error, timeout
 * and downstream-close paths. */
class Attempt implements ExchangeHandler {
  exchange: UpstreamExchange | undefined;
  ended = false;
  gotResponse = false;
  tryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly fwd: Forward,
    readonly host: UpstreamHost,
  ) {}

  onResponse(status: number, statusMessage: string, headers: HeaderMap): void {
    this.gotResponse = true;
    this.fwd.stream.info.markFirstUpstreamByte();
    this.fwd.onResponseStart(this, status, headers, statusMessage);
  }

  onData(chunk: Buffer): void {
    this.fwd.onResponseData(this, chunk);
  }

  onUpstreamTls(tls: UpstreamTlsInfo): void {
    this.fwd.stream.info.upstreamPeerUriSans = tls.peerUriSans;
    this.fwd.stream.info.upstreamTlsVersion = tls.version;
  }

  onUpstreamLocalAddress(address: string): void {
    this.fwd.stream.info.upstreamLocalAddress = address;
  }

  onTrailers(trailers: HeaderMap): void {
    this.fwd.onResponseTrailers(this, trailers);
  }

  onUpgrade(socket: net.Socket, rest: Buffer | undefined): void {
    this.fwd.onUpgraded(this, socket, rest);
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
  readonly stream: HttpStream;
  private readonly action: ForwardAction;
  private readonly cluster: ClusterRuntime;
  private readonly stats: ClusterStats;
  private readonly random: () => number;
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
  /** The request's consistent-hash input, and the affinity cookies the response must set. */
  private readonly lbContext: LbContext;
  private readonly setCookies: readonly string[];
  /** Response trailers from the upstream (HTTP/2: gRPC's grpc-status), sent at the end. */
  private trailers: HeaderMap | undefined;
  /** gRPC: the relayed response's messages (created on its first chunk). */
  private responseFrames: GrpcFrameCounter | undefined;
  /** An upgraded exchange's tunnel (WebSocket), once the upstream switched protocols. */
  private tunnel: Tunnel | undefined;
  /** Which of the host's pools this request uses. */
  private readonly protocol: 'http1' | 'http2';

  constructor(
    stream: HttpStream,
    action: ForwardAction,
    cluster: ClusterRuntime,
    random: () => number,
    private readonly clusters: ClusterManager,
  ) {
    this.stream = stream;
    this.action = action;
    this.cluster = cluster;
    this.stats = cluster.stats;
    this.random = random;
    this.retry = action.retry;
    this.retryState = new RetryState(action.retry, cluster.resources, cluster.stats, random);
    this.headers = this.buildHeaders();
    this.path = this.rewritePath();
    // Most routes hash nothing: no per-request input object for them.
    const rh =
      action.hashPolicy.length === 0
        ? NO_HASH
        : requestHash(action.hashPolicy, { header: (n) => stream.header(n), queryParam: (n) => stream.queryParam(n), sourceIp: stream.req.socket.remoteAddress });
    this.lbContext = cluster.config.originalDst ? { hash: rh.hash, originalDst: originalDstFor(cluster.config.originalDst, (n) => stream.header(n), stream.connection) } : { hash: rh.hash };
    this.setCookies = rh.setCookies;
    const p = cluster.config.httpProtocol;
    this.protocol = p === 'downstream' ? (stream.req.httpVersion === '2' ? 'http2' : 'http1') : p;
  }

  /** The route timeout, or the gRPC client's deadline where the route honours grpc-timeout. */
  private get timeoutMs(): number {
    const a = this.action;
    return a.grpcTimeout ? effectiveTimeoutMs(a.timeoutMs, a.grpcTimeout, this.stream.header('grpc-timeout')) : a.timeoutMs;
  }

  start(): void {
    const req = this.stream.req;
    const body = req.body;
    const timeoutMs = this.timeoutMs;
    if (timeoutMs > 0) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), timeoutMs);
    const mirrors = this.action.mirrors;
    if (!body) {
      this.body = undefined;
      this.mirror();
      this.sendAttempt();
    } else if ((this.retryState.mayRetry || mirrors.length > 0) && req.contentLength >= 0 && req.contentLength <= MAX_REPLAY_BODY) {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.once('end', () => {
        this.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        this.mirror();
        this.sendAttempt();
      });
    } else {
      this.body = null;
      this.retryState.disable();
      this.mirror();
      this.sendAttempt();
    }
  }

  /** request_mirror_policies: fire-and-forget copies, once the body is known. */
  private mirror(): void {
    if (this.action.mirrors.length === 0) return;
    const req = { method: this.stream.method, path: this.path, headers: this.headers, body: this.body, timeoutMs: this.timeoutMs };
    sendMirrors(this.action.mirrors, req, this.clusters, this.random, (name) => this.clusters.get(name)?.stats);
  }

  private buildHeaders(): OutgoingHttpHeaders {
    const { req, route, vhost, routeConfig } = this.stream;
    const h = forwardableHeaders(req.headers);
    // 100-continue was already answered by our server; the upstream gets the body directly.
    delete h.expect;
    const upgrade = this.stream.upgradeType;
    if (upgrade !== undefined) {
      // The upgrade's own hop-by-hop fields travel on (its connection is never pooled).
      h.connection = 'upgrade';
      h.upgrade = String(this.stream.req.headers.upgrade);
    }
    if (h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = 'http';
    if (this.action.hostRewrite) h.host = this.action.hostRewrite;
    // Most specific first, as Envoy does by default: route, virtual host, route configuration.
    if (route) applyHeaderMutation(h, route.requestHeaders);
    if (vhost) applyHeaderMutation(h, vhost.requestHeaders);
    if (routeConfig) applyHeaderMutation(h, routeConfig.requestHeaders);
    return h;
  }

  private rewritePath(): string {
    const { stream, action } = this;
    const url = stream.url;
    if (action.prefixRewrite !== undefined) {
      const m = stream.route!.match.path;
      const q = url.indexOf('?');
      const rest = m.kind === 'prefix' || m.kind === 'separated_prefix' ? url.slice(m.value.length) : q >= 0 ? url.slice(q) : '';
      const out = action.prefixRewrite + rest;
      return out.startsWith('/') ? out : `/${out}`;
    }
    if (action.regexRewrite) {
      const q = url.indexOf('?');
      const { regex, substitution } = action.regexRewrite;
      return stream.path.replace(regex, substitution) + (q >= 0 ? url.slice(q) : '');
    }
    return url;
  }

  private sendAttempt(): void {
    if (this.done) return;
    const host = this.retryState.selectHost((avoid) => this.cluster.pick(avoid, this.lbContext), this.lastHost);
    if (!host) {
      this.stats.no_healthy_upstream++;
      this.finish();
      sendLocalReply(this.stream, {
        status: 503,
        flag: ResponseFlag.noHealthyUpstream,
        details: 'no_healthy_upstream',
        body: `weft: no healthy upstream for cluster "${this.cluster.name}"`,
      });
      return;
    }
    // Circuit breaker: every attempt is one of the cluster's max_requests.
    if (!this.cluster.resources.requests.tryAcquire()) return this.replyOverflow('max_requests');
    this.attemptCount++;
    this.stream.info.attempts = this.attemptCount;
    this.stream.info.upstreamHost = host.key;
    this.stream.info.upstreamWorkload = host.workload;
    // Headers for mesh workloads only (the peer metadata): set per attempt, a retry may pick an external host.
    const meshOnly = this.stream.meshRequestHeaders;
    if (meshOnly) for (const k in meshOnly) {
      if (host.workload) this.headers[k] = meshOnly[k];
      else delete this.headers[k];
    }
    this.lastHost = host;
    host.onRequestStart();
    this.stats.upstream_rq_total++;
    this.headers['x-envoy-attempt-count'] = String(this.attemptCount);
    const attempt = new Attempt(this, host);
    this.current = attempt;
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) attempt.tryTimer = setTimeout(() => this.onTryTimeout(attempt), perTry);
    if (this.stream.upgradeType !== undefined) {
      attempt.exchange = requestUpgrade(
        { ip: host.ip, port: host.port, authority: host.key, connectTimeoutMs: this.cluster.config.connectTimeoutMs, connector: host.connector },
        { method: this.stream.method, path: this.path, headers: this.headers, body: undefined },
        attempt,
      );
      return;
    }
    attempt.exchange = host.poolFor(this.protocol).request(
      { method: this.stream.method, path: this.path, headers: this.headers, body: this.body === null ? this.stream.req.body : this.body, bodyLength: this.stream.req.contentLength },
      attempt,
    );
  }

  onResponseStart(attempt: Attempt, status: number, upstreamHeaders: HeaderMap, statusMessage: string): void {
    if (attempt.ended || this.done) {
      attempt.abort();
      return;
    }
    // Outlier detection sees every attempt's status, retried or not.
    this.cluster.putResult(attempt.host, { kind: 'connect_success' });
    this.cluster.putResult(attempt.host, { kind: 'http', status });
    const decision = this.retryState.decide({ kind: 'response', status, grpcStatus: grpcStatusOf(upstreamHeaders['grpc-status']) });
    if (decision === 'retry') {
      this.countStatus(status);
      this.stream.info.upstreamFailure = undefined;
      // Drop this answer (and its connection) and try again.
      this.endAttempt(attempt);
      attempt.abort();
      this.scheduleRetry();
      return;
    }
    if (attempt.tryTimer) clearTimeout(attempt.tryTimer);
    this.countStatus(status);
    if (retryLimitReached(decision)) this.stream.info.addFlag(ResponseFlag.upstreamRetryLimitExceeded);
    const { route, vhost, routeConfig } = this.stream;
    const headers = forwardableHeaders(upstreamHeaders);
    headers['x-weft-upstream-cluster'] = this.cluster.name;
    headers['x-weft-upstream-host'] = attempt.host.key;
    addSetCookies(headers, this.setCookies);
    if (route) applyHeaderMutation(headers, route.responseHeaders);
    if (vhost) applyHeaderMutation(headers, vhost.responseHeaders);
    if (routeConfig) applyHeaderMutation(headers, routeConfig.responseHeaders);
    this.relaying = attempt;
    this.stream.info.upstreamFailure = undefined;
    this.stream.info.details = 'via_upstream';
    if (status === 101) {
      headers.connection = 'upgrade';
      headers.upgrade = String(upstreamHeaders.upgrade ?? '');
    }
    this.stream.respond(status, headers, statusMessage);
  }

  onResponseData(attempt: Attempt, chunk: Buffer): void {
    if (this.relaying !== attempt) return;
    const res = this.stream.res;
    this.stream.info.bytesSent += chunk.length;
    if (this.stream.isGrpc) this.stream.info.responseMessages += (this.responseFrames ??= new GrpcFrameCounter()).push(chunk);
    this.stream.lastActivity = Date.now();
    if (!res.write(chunk)) {
      // Backpressure: stop reading upstream until the client catches up.
      const exchange = attempt.exchange!;
      exchange.pause();
      res.once('drain', () => exchange.resume());
    }
  }

  /** 101 Switching Protocols: the exchange becomes a byte tunnel between the two sockets. */
  onUpgraded(attempt: Attempt, upstream: net.Socket, rest: Buffer | undefined): void {
    const res = this.stream.res;
    if (this.relaying !== attempt || this.done || !res.upgrade) {
      upstream.destroy();
      return;
    }
    // The route timeout covers the upgrade's answer, not the tunnel's life.
    if (this.globalTimer) clearTimeout(this.globalTimer);
    this.globalTimer = undefined;
    const { socket: downstream, head } = res.upgrade();
    this.tunnel = openTunnel(downstream, upstream, head, rest, {
      onActivity: (rx, tx) => {
        this.stream.lastActivity = Date.now();
        this.stream.info.bytesReceived += rx;
        this.stream.info.bytesSent += tx;
      },
      onClose: (clean) => {
        this.tunnel = undefined;
        this.endAttempt(attempt);
        this.finish();
        res.finishUpgrade?.(clean);
      },
    });
  }

  onResponseTrailers(attempt: Attempt, trailers: HeaderMap): void {
    if (this.relaying !== attempt) return;
    this.trailers = trailers;
    this.stream.responseTrailers = trailers;
    const grpcStatus = trailers['grpc-status'];
    if (grpcStatus !== undefined) this.stream.info.grpcStatus = String(grpcStatus);
  }

  onResponseEnd(attempt: Attempt): void {
    if (this.relaying !== attempt) return;
    this.endAttempt(attempt);
    this.finish();
    this.stream.res.end(undefined, this.trailers);
  }

  onError(attempt: Attempt, err: NodeJS.ErrnoException): void {
    if (attempt.ended) return;
    this.endAttempt(attempt);
    if (this.done) return;
    const res = this.stream.res;
    const failure = classifyFailure(err);
    this.stream.info.upstreamFailure = failure;
    this.stream.info.upstreamTlsFailure = err.code === UPSTREAM_TLS_ERROR ? err.message : undefined;
    if (attempt.gotResponse || res.headersSent) {
      // The answer was already flowing: all we can do is cut the downstream stream too.
      this.stats.upstream_rq_reset++;
      this.stream.info.addFlag(failure === 'protocol' ? ResponseFlag.upstreamProtocolError : ResponseFlag.upstreamRemoteReset);
      this.finish();
      res.destroy();
      return;
    }
    // max_pending_requests: answered at once, never retried (as Envoy's pool overflow).
    if (err.code === PENDING_OVERFLOW) return this.replyOverflow('max_pending_requests');
    // A pooled connection the server closed while idle: resend an idempotent request once.
    if (failure === 'reset' && !this.staleRetryUsed && this.body !== null && idempotentMethods.has(this.stream.method)) {
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
    const local = localOrigin(failure);
    this.cluster.putResult(attempt.host, { kind: 'local_failure', failure: local });
    const decision = this.retryState.decide({ kind: 'failure', failure: local });
    if (decision === 'retry') {
      this.scheduleRetry();
      return;
    }
    this.finish();
    if (retryLimitReached(decision)) this.stream.info.addFlag(ResponseFlag.upstreamRetryLimitExceeded);
    const why = `${err.code ?? 'error'}: ${err.message}`;
    if (failure === 'protocol') {
      sendLocalReply(this.stream, { status: 502, flag: ResponseFlag.upstreamProtocolError, details: 'upstream_protocol_error', body: `weft: upstream protocol error: ${why}` });
      return;
    }
    sendLocalReply(this.stream, {
      status: 503,
      flag: failure === 'connect' ? ResponseFlag.upstreamConnectionFailure : ResponseFlag.upstreamConnectionTermination,
      details: failure !== 'connect' ? 'upstream_reset' : err.code === UPSTREAM_TLS_ERROR ? `upstream_connect_failure{tls_error:${err.message}}` : 'upstream_connect_failure',
      body: `weft: upstream connect error or disconnect/reset before headers: ${failure === 'connect' ? 'connection failure' : 'reset'} (${why})`,
    });
  }

  private onTryTimeout(attempt: Attempt): void {
    if (attempt.ended || this.done) return;
    this.stats.upstream_rq_timeout++;
    this.stream.info.upstreamFailure = 'timeout';
    this.endAttempt(attempt);
    attempt.abort();
    this.cluster.putResult(attempt.host, { kind: 'local_failure', failure: 'timeout' });
    const decision = this.retryState.decide({ kind: 'failure', failure: 'timeout' });
    if (decision === 'retry') {
      this.scheduleRetry();
      return;
    }
    this.finish();
    if (retryLimitReached(decision)) this.stream.info.addFlag(ResponseFlag.upstreamRetryLimitExceeded);
    this.timeoutReply();
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    this.stats.upstream_rq_timeout++;
    this.stream.info.upstreamFailure = 'timeout';
    // The host still owing an answer timed out, as far as outlier detection is concerned.
    if (this.current && !this.current.ended) this.cluster.putResult(this.current.host, { kind: 'local_failure', failure: 'timeout' });
    this.abandon();
    this.timeoutReply();
  }

  private timeoutReply(): void {
    sendLocalReply(this.stream, { status: 504, flag: ResponseFlag.upstreamRequestTimeout, details: 'upstream_timeout', body: 'upstream request timeout' });
  }

  /** The stream ended (answered, reset, or the client left): abandon what is still upstream. */
  onStreamComplete(): void {
    if (!this.done) {
      if (!this.stream.res.finished) this.stream.info.addFlag(ResponseFlag.downstreamConnectionTermination);
      this.abandon();
    }
  }

  private abandon(): void {
    this.tunnel?.close();
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
    this.stream.info.upstreamFailure = 'overflow';
    sendLocalReply(this.stream, {
      status: 503,
      flag: ResponseFlag.upstreamOverflow,
      details: 'overflow',
      body: `weft: cluster "${this.cluster.name}" is over its ${limit} circuit breaker`,
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

/** An attempt's error as a typed failure. */
function classifyFailure(err: NodeJS.ErrnoException): UpstreamFailure {
  if (err.code === 'WEFT_E_UPSTREAM_PROTOCOL') return 'protocol';
  // A refused or failed TLS handshake is a connect failure (Envoy: UF, connection_failure,TLS_error).
  if (err.code === UPSTREAM_TLS_ERROR) return 'connect';
  return connectErrorCodes.has(err.code ?? '') ? 'connect' : 'reset';
}

/** Retries and outlier detection know local-origin failures; a protocol error counts as a reset. */
function localOrigin(f: UpstreamFailure): LocalOriginFailure {
  return f === 'connect' || f === 'timeout' ? f : 'reset';
}

/** Envoy's URX: the policy covered the outcome but no retry was left or allowed. */
function retryLimitReached(d: RetryDecision): boolean {
  return d === 'exhausted' || d === 'overflow';
}

