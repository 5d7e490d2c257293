// The life of an ADS stream, the same for both protocols: open it, hand responses over one at a
// time (a response is applied before the next is looked at), and when it fails reconnect with
// jittered exponential backoff while the proxy keeps serving what it has.
import * as grpc from '@grpc/grpc-js';

export interface StreamCounters {
  streams: number;
  responses: number;
  acks: number;
  nacks: number;
  streamFailures: number;
}

export interface ReconnectingStreamOptions<Req, Res> {
  address: string;
  open(): grpc.ClientDuplexStream<Req, Res>;
  /** A new stream is up (id): send the initial requests. */
  onOpen(id: number): void;
  onResponse(id: number, res: Res): Promise<void>;
  log(msg: string): void;
  /** Reconnect backoff: starts at initialMs, doubles to maxMs, jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  random?: () => number;
}

export class ReconnectingStream<Req, Res> {
  connected = false;
  readonly counters: StreamCounters = { streams: 0, responses: 0, acks: 0, nacks: 0, streamFailures: 0 };
  private call: grpc.ClientDuplexStream<Req, Res> | undefined;
  private streamId = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  /** The last failure logged; repeats are counted, not logged, until the stream works again. */
  private lastFailure = '';

  constructor(private readonly o: ReconnectingStreamOptions<Req, Res>) {}

  start(): void {
    if (this.call || this.closed) return;
    this.openStream();
  }

  get isOpen(): boolean {
    return this.call !== undefined;
  }

  /** Whether `id` is still the current stream (a response applied slowly may outlive its stream). */
  isCurrent(id: number): boolean {
    return id === this.streamId && this.call !== undefined;
  }

  write(req: Req): void {
    this.call?.write(req);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.endStream();
  }

  private openStream(): void {
    const id = ++this.streamId;
    this.counters.streams++;
    const call = this.o.open();
    this.call = call;
    call.on('data', (res: Res) => {
      if (id !== this.streamId) return;
      this.markConnected();
      this.attempt = 0;
      this.lastFailure = '';
      this.counters.responses++;
      this.queue = this.queue.then(() => this.o.onResponse(id, res)).catch((err) => this.o.log(`xds: handling a response failed: ${err}`));
    });
    call.on('metadata', () => {
      if (id === this.streamId) this.markConnected();
    });
    const fail = (why: string) => {
      if (id !== this.streamId || this.closed) return;
      this.counters.streamFailures++;
      if (why !== this.lastFailure) this.o.log(`xds: stream to ${this.o.address} ended: ${why}; reconnecting with backoff [WEFT_E_XDS_STREAM]`);
      this.lastFailure = why;
      this.endStream();
      this.scheduleReconnect();
    };
    call.on('error', (err: grpc.ServiceError) => fail(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on('end', () => fail('server closed the stream'));
    this.o.onOpen(id);
  }

  private markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    this.o.log(`xds: connected to ${this.o.address} (stream ${this.counters.streams})`);
  }

  private endStream(): void {
    const call = this.call;
    this.call = undefined;
    this.connected = false;
    this.streamId++;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {}); // a cancelled call reports CANCELLED; nothing to do
      call.cancel();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const delay = reconnectDelay(this.attempt, this.o.backoff, this.o.random ?? Math.random);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.openStream();
    }, delay);
    this.timer.unref?.();
  }
}

/** The default reconnect backoff: the ceiling doubles from 100 ms to 5 s. The control plane's startup
 * grace (--startup-grace-ms) is set above the ceiling, so every proxy is back before it ends. */
export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 5_000 } as const;

/** The delay before reconnect `attempt` (0-based): uniform between a tenth of the ceiling and the
 * ceiling ("full jitter", as Envoy's JitteredExponentialBackOffStrategy draws in [0, ceiling)). When
 * a control plane restarts, every proxy's stream fails in the same instant; drawing over the whole
 * step, not its upper half, spreads a fleet's reconnects over the step instead of bunching them. */
export function reconnectDelay(attempt: number, backoff: { initialMs?: number; maxMs?: number } | undefined, random: () => number): number {
  const initial = backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.1 + 0.9 * random()));
}
