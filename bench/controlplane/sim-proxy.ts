// One simulated sidecar on state-of-the-world ADS (sim-delta-proxy.ts is the Delta one): a real
// @grpc/grpc-js ADS stream (its own HTTP/2 connection) that behaves like a proxy's xDS client:
// wildcard CDS and LDS, then EDS for the EDS clusters CDS names and RDS for the route
// configurations LDS names, ACKing every response. It decodes what it needs with
// unpackAny; identical responses (most proxies get the same CDS) are decoded once per process.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  aggregatedDiscoveryService,
  toStruct,
  TypeUrl,
  unpackAny,
  xdsTypeOf,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type XdsType,
} from '../../src/api/envoy.js';

export interface SimIdentity {
  index: number;
  service: string;
  namespace: string;
  /** Loopback address the endpoint registers with (no traffic is ever sent to it). */
  ip: string;
  servicePort: number;
  /** Delta: the hosts this proxy's app calls (`svc-3:8080`), asked for over on-demand VHDS. */
  calls: string[];
}

/** What the worker reads of a simulated proxy, whichever protocol it speaks. */
export interface SimClient {
  readonly id: string;
  readonly who: SimIdentity;
  readonly types: Map<XdsType, TypeTrack>;
  readonly synced: boolean;
  error: string | undefined;
  reconnects: number;
  start(): void;
  close(): void;
}

/** Times are epoch milliseconds with sub-ms precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface TypeTrack {
  version: string;
  nonce: string;
  names: string[];
  /** Time of the last ACK this stream sent for the type. */
  ackedAt: number;
  responses: number;
}

/** Per-process counters of what arrived since the harness last called `mark`. */
export const windowStats = {
  since: 0,
  bytes: 0,
  responses: 0,
  lastResponseAt: 0,
  byType: {} as Partial<Record<XdsType, { responses: number; bytes: number; resources: number }>>,
  decodeErrors: 0,
};

export function markWindow(): void {
  windowStats.since = now();
  windowStats.bytes = 0;
  windowStats.responses = 0;
  windowStats.lastResponseAt = 0;
  windowStats.byType = {};
}

const decodeCache = new Map<string, string[]>();
/** Names referenced by a CDS (EDS service names) or LDS (RDS route names) response. */
function referencedNames(type: 'cluster' | 'listener', res: DiscoveryResponseWire): string[] {
  const h = createHash('sha1').update(type);
  for (const r of res.resources) h.update(r.value);
  const key = h.digest('base64');
  let names = decodeCache.get(key);
  if (names) return names;
  const out = new Set<string>();
  for (const any of res.resources) {
    const msg = unpackAny(any);
    if (type === 'cluster') {
      if (msg.type === 'EDS') {
        const eds = msg.eds_cluster_config as { service_name?: string } | undefined;
        out.add(eds?.service_name || String(msg.name));
      }
    } else {
      for (const chain of (msg.filter_chains as Array<{ filters?: Array<{ typed_config?: Record<string, unknown> }> }>) ?? [])
        for (const f of chain.filters ?? []) {
          const rds = f.typed_config?.rds as { route_config_name?: string } | undefined;
          if (rds?.route_config_name) out.add(rds.route_config_name);
        }
    }
  }
  names = [...out].sort();
  if (decodeCache.size > 1000) decodeCache.clear();
  decodeCache.set(key, names);
  return names;
}

/** The envelope of an encoded DiscoveryResponse (fields 1 version_info, 2 resources, 4 type_url,
 * 5 nonce) without decoding the resources. */
function scanResponse(buf: Buffer): DiscoveryResponseWire & { count: number } {
  const out = { version_info: '', resources: [], type_url: '', nonce: '', count: 0 };
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      varint();
      continue;
    }
    if (wire === 5) {
      i += 4;
      continue;
    }
    if (wire === 1) {
      i += 8;
      continue;
    }
    if (wire !== 2) throw new Error(`unexpected wire type ${wire} in DiscoveryResponse`);
    const len = varint();
    if (field === 1) out.version_info = buf.toString('utf8', i, i + len);
    else if (field === 2) out.count++;
    else if (field === 4) out.type_url = buf.toString('utf8', i, i + len);
    else if (field === 5) out.nonce = buf.toString('utf8', i, i + len);
    i += len;
  }
  return out;
}

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export class SimProxy implements SimClient {
  readonly id: string;
  readonly types = new Map<XdsType, TypeTrack>();
  private call: grpc.ClientDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire> | undefined;
  private client: grpc.Client | undefined;
  private sentNode = false;
  closed = false;
  /** Message of the last stream failure, cleared when a response arrives on a new stream. */
  error: string | undefined;
  reconnects = 0;
  connectedAt = 0;

  constructor(
    readonly who: SimIdentity,
    private readonly xdsAddress: string,
    private readonly onChange: (p: SimProxy, type: XdsType) => void,
  ) {
    this.id = `sidecar~${who.ip}~${who.service}-${who.index}.${who.namespace}~${who.namespace}.svc.cluster.local`;
  }

  /** Every type this proxy subscribes to has been answered and ACKed at least once. */
  get synced(): boolean {
    for (const t of ['cluster', 'listener', 'endpoint', 'route'] as const) if (!this.types.get(t)?.ackedAt) return false;
    return true;
  }

  start(): void {
    this.client = simGrpcClient(this.xdsAddress);
    this.openStream();
  }

  private openStream(): void {
    const method = aggregatedDiscoveryService().service.StreamAggregatedResources;
    const deserialize = (buf: Buffer): DiscoveryResponseWire => {
      windowStats.bytes += buf.length;
      // Only CDS and LDS are read in full (their contents decide what to subscribe to next);
      // EDS and RDS are ACKed after a scan of the envelope, which keeps 2,000 simulated proxies
      // from competing with the control plane for this machine's two cores.
      const head = scanResponse(buf);
      const t = xdsTypeOf(head.type_url);
      const res = t === 'cluster' || t === 'listener' ? (method.responseDeserialize(buf) as DiscoveryResponseWire) : head;
      if (t) {
        const s = (windowStats.byType[t] ??= { responses: 0, bytes: 0, resources: 0 });
        s.responses++;
        s.bytes += buf.length;
        s.resources += head.count;
      }
      return res;
    };
    const call = this.client!.makeBidiStreamRequest(
      method.path,
      method.requestSerialize as (r: DiscoveryRequestWire) => Buffer,
      deserialize,
    );
    this.call = call;
    this.sentNode = false;
    this.connectedAt = now();
    let ended = false;
    const onEnd = (why: string): void => {
      if (ended || this.closed) return;
      ended = true;
      this.error = why;
      // Like a real proxy: reconnect with jittered exponential backoff, keeping what it has.
      const delay = reconnectDelay(this.reconnects);
      this.reconnects++;
      setTimeout(() => {
        if (!this.closed) this.openStream();
      }, delay);
    };
    call.on('data', (res: DiscoveryResponseWire) => {
      this.error = undefined;
      this.onResponse(res);
    });
    call.on('error', (e: Error) => onEnd(e.message));
    call.on('end', () => onEnd('stream ended by the server'));
    // Wildcard CDS and LDS, then (on a reconnect) the EDS/RDS names already known, each with the
    // version this proxy runs, as Envoy does.
    const cds = this.types.get('cluster');
    const lds = this.types.get('listener');
    this.request('cluster', [], cds?.version ?? '', '');
    this.request('listener', [], lds?.version ?? '', '');
    for (const t of ['endpoint', 'route'] as const) {
      const track = this.types.get(t);
      if (track) this.request(t, track.names, track.version, '');
    }
  }

  close(): void {
    this.closed = true;
    this.call?.cancel();
    this.client?.close();
  }

  private request(type: XdsType, names: string[], version: string, nonce: string, error?: string): void {
    const req: DiscoveryRequestWire = {
      version_info: version,
      resource_names: names,
      type_url: TypeUrl[type],
      response_nonce: nonce,
      error_detail: error ? { code: 3, message: error } : null,
    };
    if (!this.sentNode) {
      this.sentNode = true;
      req.node = this.node();
    }
    this.call?.write(req);
  }

  private onResponse(res: DiscoveryResponseWire): void {
    windowStats.responses++;
    windowStats.lastResponseAt = now();
    const type = xdsTypeOf(res.type_url);
    if (!type) return;
    const track = this.types.get(type) ?? { version: '', nonce: '', names: [], ackedAt: 0, responses: 0 };
    this.types.set(type, track);
    track.responses++;
    let refs: string[] | undefined;
    if (type === 'cluster' || type === 'listener') {
      try {
        refs = referencedNames(type, res);
      } catch (e) {
        windowStats.decodeErrors++;
        // A proxy NACKs what it cannot decode: same version as before, with the error.
        this.request(type, track.names, track.version, res.nonce, String((e as Error).message));
        track.nonce = res.nonce;
        return;
      }
    }
    track.version = res.version_info;
    track.nonce = res.nonce;
    this.request(type, track.names, res.version_info, res.nonce);
    track.ackedAt = now();
    this.onChange(this, type);
    if (refs) this.subscribe(type === 'cluster' ? 'endpoint' : 'route', refs);
  }

  /** (Re)subscribe the dependent type when the set of referenced names changed. */
  private subscribe(type: 'endpoint' | 'route', names: string[]): void {
    const t = this.types.get(type);
    if (t && sameList(t.names, names)) return;
    if (!t) {
      this.types.set(type, { version: '', nonce: '', names, ackedAt: 0, responses: 0 });
      this.request(type, names, '', '');
    } else {
      t.names = names;
      this.request(type, names, t.version, t.nonce);
    }
  }

  private node(): DiscoveryRequestWire['node'] {
    return simNode(this.who, this.id);
  }
}

/** Node metadata as `weft proxy` sends it. */
export function simNode(w: SimIdentity, id: string): NonNullable<DiscoveryRequestWire['node']> {
  const workload = `${w.service}-${w.index}`;
  return {
    id,
    cluster: w.service,
    user_agent_name: 'weft-bench-sim',
    metadata: toStruct({
      NAMESPACE: w.namespace,
      LABELS: { app: w.service, version: 'v1' },
      SERVICE_ACCOUNT: 'default',
      INSTANCE_IPS: w.ip,
      WORKLOAD_NAME: workload,
      WEFT_SERVICE: w.service,
      WEFT_PORTS: [{ service_port: w.servicePort, endpoint_port: 15006, app_port: w.servicePort, protocol: 'HTTP' }],
      WEFT_OUTBOUND_PORT: 15001,
      WEFT_INBOUND_PORT: 15006,
      WEFT_CAPTURE: 'explicit',
    }),
  };
}

/** Jittered exponential backoff, as a real proxy reconnects (0.25–8 s). */
export const reconnectDelay = (attempt: number): number => Math.min(8000, 250 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());

/** A client with its own HTTP/2 connection (local subchannel pool), as real proxies have. */
export function simGrpcClient(xdsAddress: string): grpc.Client {
  return new grpc.Client(xdsAddress, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    // Envoy-like reconnect backoff (grpc-js would back off to 120 s).
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 10_000,
  });
}
