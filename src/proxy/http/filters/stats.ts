// istio.stats: Istio's standard request metrics, reported by this sidecar as `source` on outbound
// listeners and `destination` on inbound ones (the listener's traffic_direction, as Istio infers it).
// It also carries the peer metadata exchange (api/peer-metadata.ts): outbound it has the router add
// this workload's x-weft-peer to requests for mesh endpoints (never to external ones) and takes the
// server's off the response; inbound it takes the client's off the request and adds its own to the
// response. Apps never see the header.
// Hot path: onStreamComplete builds one short key from what varies per request and bumps the
// cached series for it; labels are resolved only for a key not seen before.
import type { OutgoingHttpHeaders } from 'node:http';
import { PEER_HEADER } from '../../../api/peer-metadata.js';
import { UNKNOWN, type IstioLabels } from '../../telemetry/istio-metrics.js';
import { observe } from '../../telemetry/registry.js';
import { destinationServiceOf, securityPolicy, workloadLabels, type ProxyTelemetry, type Reporter } from '../../telemetry/telemetry.js';
import { DEFAULT_STATS, ISTIO_STATS_TYPE_URL, statsPluginConfig, type StatsConfig } from '../../telemetry/stats-config.js';
import { CONTINUE, type FilterStatus, type HttpFilter, type HttpFilterType } from '../filter.js';
import type { HttpStream } from '../stream.js';

export const statsFilterType: HttpFilterType<StatsConfig> = {
  typeUrl: ISTIO_STATS_TYPE_URL,
  parse: statsPluginConfig,
  create: (name, config, deps) => new StatsFilter(name, deps.telemetry, deps.reporter, config),
};

function headerValue(v: string | string[] | number | undefined): string | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v[0] : String(v);
}

export class StatsFilter implements HttpFilter {
  readonly name: string;
  private readonly meshHeaders: Record<string, string> | undefined;
  constructor(
    name: string,
    /** Absent: metrics are off for this proxy (the filter then only strips peer headers). */
    private readonly telemetry: ProxyTelemetry | undefined,
    private readonly reporter: Reporter,
    /** Metric overrides (Telemetry metrics.overrides, as the control plane translates them). */
    private readonly config: StatsConfig = DEFAULT_STATS,
  ) {
    this.name = name;
    this.meshHeaders = telemetry ? Object.freeze({ [PEER_HEADER]: telemetry.peerHeader }) : undefined;
  }

  onRequest(stream: HttpStream): FilterStatus {
    const headers = stream.req.headers;
    if (this.reporter === 'destination') {
      stream.info.downstreamPeer = headerValue(headers[PEER_HEADER]);
      delete headers[PEER_HEADER];
    } else {
      // The app's own value (if any) never goes out; this sidecar's goes to mesh workloads only.
      delete headers[PEER_HEADER];
      if (this.meshHeaders) stream.meshRequestHeaders = this.meshHeaders;
    }
    return CONTINUE;
  }

  onResponseHeaders(stream: HttpStream, _status: number, headers: OutgoingHttpHeaders): void {
    if (this.reporter === 'source') {
      stream.info.upstreamPeer = headerValue(headers[PEER_HEADER]);
      delete headers[PEER_HEADER];
    } else if (this.telemetry && stream.info.downstreamPeer !== undefined) {
      // Only a caller that sent its own (a sidecar) learns who answered.
      headers[PEER_HEADER] = this.telemetry.peerHeader;
    }
    // A trailers-only gRPC reply (local replies too) carries grpc-status in its headers.
    const grpc = headers['grpc-status'];
    if (grpc !== undefined) stream.info.grpcStatus = String(grpc);
  }

  onStreamComplete(stream: HttpStream): void {
    const t = this.telemetry;
    if (!t || this.config.allDropped) return;
    const info = stream.info;
    // A request refused before this filter ran (RBAC, fault) still names its caller.
    if (this.reporter === 'destination' && info.downstreamPeer === undefined) info.downstreamPeer = headerValue(stream.req.headers[PEER_HEADER]);
    const grpc = stream.isGrpc;
    const tls = this.reporter === 'destination' ? stream.connection.tls : undefined;
    const peerPrincipal = this.reporter === 'destination' ? tls?.peerUriSans[0] : info.upstreamPeerUriSans[0];
    const cluster = info.clusterName || routeCluster(stream);
    let key =
      this.reporter === 'destination'
        ? `d|${info.downstreamPeer ?? ''}|${peerPrincipal ?? ''}|${tls?.localUriSan ?? ''}|${info.responseCode}|${info.flagString}|${grpc ? info.grpcStatus || '-' : ''}`
        : `s|${cluster || stream.authority}|${info.upstreamPeer ?? (info.upstreamWorkload ? info.upstreamHost : '')}|${peerPrincipal ?? ''}|${info.responseCode}|${info.flagString}|${grpc ? info.grpcStatus || '-' : ''}`;
    const cfg = this.config;
    const header = (name: string) => headerValue(stream.req.headers[name]);
    if (cfg.id) {
      key += `|${cfg.id}`;
      for (const h of cfg.headers) key += `|${header(h) ?? ''}`;
    }
    const s = t.metrics.request(key, grpc, () => this.labels(stream, cluster, peerPrincipal, tls?.localUriSan), cfg, header);
    s.requests.value++;
    observe(t.metrics.duration, s.duration, info.durationMs ?? 0);
    observe(t.metrics.requestBytes, s.requestBytes, info.bytesReceived);
    observe(t.metrics.responseBytes, s.responseBytes, info.bytesSent);
    if (s.requestMessages) s.requestMessages.value += info.requestMessages;
    if (s.responseMessages) s.responseMessages.value += info.responseMessages;
  }

  /** The full label set for a key seen for the first time. */
  private labels(stream: HttpStream, cluster: string, peerPrincipal: string | undefined, localPrincipal: string | undefined): IstioLabels {
    const t = this.telemetry!;
    const info = stream.info;
    const inbound = this.reporter === 'destination';
    const peer = inbound ? t.peer(info.downstreamPeer) : (t.peer(info.upstreamPeer) ?? info.upstreamWorkload);
    const svc = inbound ? t.service : destinationServiceOf(cluster, stream.authority);
    return {
      reporter: this.reporter,
      ...workloadLabels('source', inbound ? peer : t.workload),
      source_principal: (inbound ? peerPrincipal : t.principal) || UNKNOWN,
      ...workloadLabels('destination', inbound ? t.workload : peer),
      destination_principal: (inbound ? localPrincipal : peerPrincipal) || UNKNOWN,
      destination_service: svc.host,
      destination_service_name: svc.name,
      destination_service_namespace: svc.namespace,
      request_protocol: stream.isGrpc ? 'grpc' : 'http',
      response_code: String(info.responseCode),
      grpc_response_status: stream.isGrpc ? info.grpcStatus || UNKNOWN : '',
      response_flags: info.flagString,
      connection_security_policy: securityPolicy(this.reporter, peerPrincipal),
    };
  }
}

/** The cluster a request's route names, for outcomes decided before the router picked one (a fault). */
function routeCluster(stream: HttpStream): string {
  const a = stream.route?.action;
  if (!a || a.kind !== 'route') return '';
  // Weighted clusters of one route are subsets of one service: any of them names it.
  return a.cluster.kind === 'cluster' ? a.cluster.name : (a.cluster.clusters[0]?.name ?? '');
}
