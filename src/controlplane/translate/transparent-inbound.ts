// LDS (inbound half) for a captured sidecar, Istio's `virtualInbound`: 0.0.0.0:15006 receives every
// connection the capture redirected to the workload, recovers its original destination (listener
// filter original_dst), and picks a filter chain by that port — one set per app port (HTTP: the
// inbound HCM; TCP: tcp_proxy), each with the mTLS transport its PeerAuthentication asks for, exactly
// as the explicit inbound listener builds it (mtls.ts inboundChains) — plus Istio's passthrough
// chains for ports no service declares (to the app from 127.0.0.6) and a blackhole for connections
// straight to 15006 (they would loop).
import { HTTP_INSPECTOR_TYPE_URL } from '../../api/envoy.js';
import { defaultMeshConfig } from '../../config/mesh-config.js';
import type { ProxyNode, ProxyPort } from '../model/proxy-node.js';
import { inboundPolicyFilters } from './inbound-policy.js';
import { istioStatsFilters, tcpProxyFilter } from './filters.js';
import { accessLogFields } from './access-log.js';
import { inboundAlpn, inboundTcpFilters } from './inbound-tcp.js';
import { inboundHttpFilters, inboundMtlsMode, type ListenerOptions } from './listeners.js';
import { inboundChains, tlsInspectorFilter } from './mtls.js';
import { BLACKHOLE_CLUSTER, INBOUND_LISTENER, INBOUND_PASSTHROUGH_CLUSTER, inboundClusterName, isHttpProtocol } from './names.js';
import { originalDstFilter } from './transparent-outbound.js';
import { socketAddress, type XdsResource } from './types.js';

const httpInspectorFilter = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': HTTP_INSPECTOR_TYPE_URL } };
const HTTP_ALPN = ['h2', 'http/1.1'] as const;

/** One inbound chain kind: the network filters for a port, and the ALPN its TLS transport offers. */
export interface InboundChainFilters {
  filters: unknown[];
  alpn: readonly string[];
}

/** An HTTP app port: the inbound HCM (JWT, RBAC, router) to the port's cluster. */
export function inboundHttpChain(proxy: ProxyNode, port: ProxyPort, opts: ListenerOptions): InboundChainFilters {
  const cluster = inboundClusterName(port.appPort);
  return { filters: inboundHttpFilters(proxy, { cluster, statPrefix: `inbound_0.0.0.0_${port.appPort}`, port: port.appPort }, opts), alpn: HTTP_ALPN };
}

/** A TCP app port: the workload's network RBAC, then tcp_proxy to the port's cluster. */
export function inboundTcpChain(proxy: ProxyNode, port: ProxyPort, opts: ListenerOptions): InboundChainFilters {
  const rbac = inboundPolicyFilters(proxy, opts.mesh ?? defaultMeshConfig, opts).network;
  return { filters: inboundTcpFilters({ servicePort: port.appPort, rbac, telemetry: opts.telemetry?.server }), alpn: inboundAlpn(port.protocol) };
}

/** A port no service declares: Istio passes it through to the app (as TCP, from 127.0.0.6). */
export function inboundPassthroughChain(proxy: ProxyNode, opts: ListenerOptions): InboundChainFilters {
  const rbac = inboundPolicyFilters(proxy, opts.mesh ?? defaultMeshConfig, opts).network;
  return { filters: [...rbac, ...istioStatsFilters(opts.telemetry?.server), tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, accessLogFields(opts.telemetry?.server))], alpn: inboundAlpn('TCP') };
}

export function virtualInboundListener(proxy: ProxyNode, listenerOpts: ListenerOptions): XdsResource {
  // Each chain reads the workload's policies; a policy's problem is reported once, not per chain.
  const reported = new Set<string>();
  const onPolicyError = listenerOpts.onPolicyError;
  const opts: ListenerOptions = { ...listenerOpts, onPolicyError: onPolicyError && ((m) => void (reported.has(m) || (reported.add(m), onPolicyError(m)))) };
  const mesh = opts.mesh ?? defaultMeshConfig;
  const policies = opts.peerAuthentications ?? [];
  const chains: Record<string, unknown>[] = [
    { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: { value: proxy.inboundPort } }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
  ];
  // The mTLS chains of one port (or of the passthrough, `port` undefined), named and keyed by it.
  const add = (kind: InboundChainFilters, port: number | undefined) => {
    const { filter_chains } = inboundChains(inboundMtlsMode(proxy, port, mesh, policies), kind.filters, kind.alpn);
    for (const fc of filter_chains) {
      const match = { ...(port !== undefined ? { destination_port: { value: port } } : {}), ...((fc.filter_chain_match as object | undefined) ?? {}) };
      const tail = (fc.name as string | undefined) ?? 'inbound';
      chains.push({ ...fc, name: `${tail}|${port ?? 'passthrough'}`, ...(Object.keys(match).length ? { filter_chain_match: match } : {}) });
    }
  };
  for (const port of proxy.ports) add(isHttpProtocol(port.protocol) ? inboundHttpChain(proxy, port, opts) : inboundTcpChain(proxy, port, opts), port.appPort);
  add(inboundPassthroughChain(proxy, opts), undefined);
  const tls = chains.some((c) => (c.filter_chain_match as { transport_protocol?: string } | undefined)?.transport_protocol === 'tls');
  const body = {
    name: INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', proxy.inboundPort),
    traffic_direction: 'INBOUND',
    listener_filters: [originalDstFilter, ...(tls ? [tlsInspectorFilter] : []), httpInspectorFilter],
    filter_chains: chains,
  };
  return { name: INBOUND_LISTENER, body };
}
