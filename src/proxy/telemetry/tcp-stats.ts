// Istio's TCP metrics for tcp_proxy connections (the istio.stats network filter before tcp_proxy).
// Who the peer is: its principal from the mTLS certificate; its workload from the TCP peer exchange
// (tcp/peer-exchange.ts) when both sidecars negotiated it, else on the source side from the chosen
// endpoint's EDS metadata (and "unknown" on the destination side). Bytes are counted as they flow, so a scrape during a long connection
// sees them (Istio reports open connections every tcp_reporting_duration).
import type { PeerWorkload } from '../../api/peer-metadata.js';
import { UNKNOWN, type TcpSeries } from './istio-metrics.js';
import { DEFAULT_STATS, type StatsConfig } from './stats-config.js';
import { destinationServiceOf, securityPolicy, workloadLabels, type ProxyTelemetry, type Reporter } from './telemetry.js';

export interface TcpOutcome {
  clusterName: string;
  /** The upstream endpoint ("ip:port") and its workload (source side). */
  upstreamHost: string;
  upstreamWorkload: PeerWorkload | undefined;
  /** The other sidecar's peer header (raw, for the key) and what it says, from the TCP peer exchange. */
  peerHeader: string | undefined;
  peer: PeerWorkload | undefined;
  /** Source side: the upstream's certificate principal; destination side: the downstream's. */
  peerPrincipal: string | undefined;
  /** Destination side: this listener's own certificate principal. */
  localPrincipal: string | undefined;
  /** '-' or the flags of a connection that found no upstream (UF, UH, UO). */
  flags: string;
}

export class TcpStatsReporter {
  constructor(
    private readonly telemetry: ProxyTelemetry,
    readonly reporter: Reporter,
    private readonly config: StatsConfig = DEFAULT_STATS,
  ) {}

  series(o: TcpOutcome): TcpSeries {
    const key =
      (this.reporter === 'destination'
        ? `d|${o.clusterName}|${o.peerHeader ?? ''}|${o.peerPrincipal ?? ''}|${o.localPrincipal ?? ''}|${o.flags}`
        : `s|${o.clusterName}|${o.peerHeader ?? (o.upstreamWorkload ? o.upstreamHost : '')}|${o.peerPrincipal ?? ''}|${o.flags}`) + (this.config.id ? `|${this.config.id}` : '');
    return this.telemetry.metrics.tcp(key, () => {
      const t = this.telemetry;
      const inbound = this.reporter === 'destination';
      const svc = inbound ? t.service : destinationServiceOf(o.clusterName, '');
      return {
        reporter: this.reporter,
        ...workloadLabels('source', inbound ? o.peer : t.workload),
        source_principal: (inbound ? o.peerPrincipal : t.principal) || UNKNOWN,
        ...workloadLabels('destination', inbound ? t.workload : (o.peer ?? o.upstreamWorkload)),
        destination_principal: (inbound ? o.localPrincipal : o.peerPrincipal) || UNKNOWN,
        destination_service: svc.host,
        destination_service_name: svc.name,
        destination_service_namespace: svc.namespace,
        request_protocol: 'tcp',
        response_code: '',
        grpc_response_status: '',
        response_flags: o.flags,
        connection_security_policy: securityPolicy(this.reporter, o.peerPrincipal),
      };
    }, this.config);
  }
}
