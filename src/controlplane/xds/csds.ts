// CSDS on the control plane's xDS ports: each connected client's config status per xDS type, from the
// ADS server's own state (what /debug/syncz shows), as Envoy's ClientStatusResponse. One
// GenericXdsConfig per type the client was sent (name empty: the status is the type's, not one
// resource's); NACKED becomes ERROR with the client's message in error_state.
import * as grpc from '@grpc/grpc-js';
import { fromStruct, toStruct, TypeUrl, xdsTypeOf, type XdsType } from '../../api/envoy.js';
import type { ClientConfigWire, ClientStatusRequestWire, ClientStatusResponseWire, ConfigStatus, GenericXdsConfigWire, StringMatcherWire, TimestampWire } from '../../api/csds.js';
import type { ProxyStatus, TypeStatus } from './server.js';
import { SYNC_TYPES, typeState, type SyncState } from './sync-state.js';

const STATUS: Record<SyncState, ConfigStatus> = { SYNCED: 'SYNCED', STALE: 'STALE', NACKED: 'ERROR', 'NOT SENT': 'NOT_SENT', 'N/A': 'UNKNOWN' };

function timestamp(iso: string | null): TimestampWire | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function typeConfig(type: XdsType, t: TypeStatus): GenericXdsConfigWire {
  const state = typeState(t);
  return {
    type_url: TypeUrl[type],
    name: '',
    version_info: t.sent ?? '',
    last_updated: timestamp(t.ackedAt ?? t.sentAt),
    config_status: STATUS[state],
    ...(state === 'NACKED' && t.nack ? { error_state: { details: t.nack.message, version_info: t.nack.version, last_update_attempt: timestamp(t.nack.at) } } : {}),
  };
}

/** One client's status; the node carries what the control plane knows of it (Weft's metadata keys). */
export function clientConfig(p: ProxyStatus): ClientConfigWire {
  return {
    node: {
      id: p.id,
      cluster: `${p.service}.${p.namespace}`,
      metadata: toStruct({ NAMESPACE: p.namespace, LABELS: p.labels, INSTANCE_IPS: p.address, WEFT_SERVICE: p.service, WEFT_XDS_PROTOCOL: p.protocol }),
    },
    generic_xds_configs: SYNC_TYPES.flatMap(([type]) => (p.types[type] ? [typeConfig(type, p.types[type]!)] : [])),
  };
}

function matches(m: StringMatcherWire, s: string): boolean {
  // The set member of the match_pattern oneof (named by proto-loader's form, or the one present).
  const kind = m.match_pattern ?? (['prefix', 'suffix', 'contains', 'safe_regex'] as const).find((k) => m[k]) ?? 'exact';
  const fold = (x: string) => (m.ignore_case ? x.toLowerCase() : x);
  const v = fold(s);
  switch (kind) {
    case 'prefix':
      return v.startsWith(fold(m.prefix ?? ''));
    case 'suffix':
      return v.endsWith(fold(m.suffix ?? ''));
    case 'contains':
      return v.includes(fold(m.contains ?? ''));
    case 'safe_regex':
      return new RegExp(`^(?:${m.safe_regex?.regex ?? ''})$`).test(s);
    default:
      return v === fold(m.exact ?? '');
  }
}

/** The response to `req`, or why it cannot be answered (a matcher Weft does not implement). */
export function clientStatus(proxies: readonly ProxyStatus[], req: ClientStatusRequestWire): { ok: true; response: ClientStatusResponseWire } | { ok: false; message: string } {
  const matchers = req.node_matchers ?? [];
  for (const [i, m] of matchers.entries()) if ((m.node_metadatas ?? []).length) return { ok: false, message: `node_matchers[${i}].node_metadatas: not supported (match on node_id)` };
  // A client asking about itself names its node; otherwise every matcher must hold (none: all clients).
  const selected = proxies.filter((p) => (req.node?.id ? p.id === req.node.id : matchers.every((m) => !m.node_id || matches(m.node_id, p.id))));
  return { ok: true, response: { config: selected.map(clientConfig) } };
}

/** The CSDS implementation over a source of statuses (the AdsServer's `status()`). */
export function csdsImplementation(statuses: () => ProxyStatus[]): grpc.UntypedServiceImplementation {
  const answer = (req: ClientStatusRequestWire) => clientStatus(statuses(), req);
  return {
    FetchClientStatus: (call: grpc.ServerUnaryCall<ClientStatusRequestWire, ClientStatusResponseWire>, cb: grpc.sendUnaryData<ClientStatusResponseWire>) => {
      const r = answer(call.request);
      if (r.ok) cb(null, r.response);
      else cb({ code: grpc.status.INVALID_ARGUMENT, details: r.message });
    },
    // Each request on the stream is answered with the status at that moment.
    StreamClientStatus: (call: grpc.ServerDuplexStream<ClientStatusRequestWire, ClientStatusResponseWire>) => {
      call.on('data', (req: ClientStatusRequestWire) => {
        const r = answer(req);
        if (r.ok) call.write(r.response);
        else call.destroy(Object.assign(new Error(r.message), { code: grpc.status.INVALID_ARGUMENT, details: r.message }));
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  };
}

const iso = (t: TimestampWire | null | undefined) => (t ? new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString() : null);

/** A CSDS ClientConfig back in /debug/syncz's shape, so `weft proxy-status --csds` renders either alike. */
export function proxyStatusFromCsds(c: ClientConfigWire): ProxyStatus {
  const md = fromStruct(c.node.metadata);
  const types: ProxyStatus['types'] = {};
  for (const g of c.generic_xds_configs) {
    const type = xdsTypeOf(g.type_url);
    if (!type || g.config_status === 'NOT_SENT') continue;
    const at = iso(g.last_updated);
    types[type] = {
      sent: g.version_info || null,
      acked: g.config_status === 'SYNCED' ? g.version_info : null,
      nack: g.config_status === 'ERROR' && g.error_state ? { version: g.error_state.version_info, message: g.error_state.details, at: iso(g.error_state.last_update_attempt) ?? '' } : null,
      sentAt: at,
      ackedAt: g.config_status === 'SYNCED' ? at : null,
      resources: 0,
    };
  }
  const labels = md.LABELS && typeof md.LABELS === 'object' && !Array.isArray(md.LABELS) ? (md.LABELS as Record<string, string>) : {};
  return {
    id: c.node.id,
    service: String(md.WEFT_SERVICE ?? c.node.cluster.split('.')[0] ?? ''),
    namespace: String(md.NAMESPACE ?? ''),
    address: String(md.INSTANCE_IPS ?? ''),
    labels,
    protocol: md.WEFT_XDS_PROTOCOL === 'delta' ? 'delta' : 'sotw',
    connectedAt: '',
    types,
  };
}
