// Authorization as the proxy runs it: the control plane's RBAC filters put into a listener, encoded
// as protobuf, decoded and validated by the proxy's own xDS edge, then asked by the shared engine
// about a concrete request, filter after filter as the HTTP chain runs them (or the TCP chain).
import assert from 'node:assert/strict';
import { packAny, TCP_PROXY_TYPE_URL, TypeUrl, HCM_TYPE_URL, ROUTER_TYPE_URL } from '../../src/api/envoy.js';
import { authorizationFilters, type AuthorizationPolicyResource, type AuthzWorkload } from '../../src/controlplane/translate/authorization.js';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { authnMetadata, AUTHN_METADATA_NAMESPACE } from '../../src/proxy/rbac/authn-metadata.js';
import type { DynamicMetadata, RbacInput } from '../../src/proxy/rbac/engine.js';
import type { RbacFilterConfig } from '../../src/proxy/rbac/filter-config.js';
import { decodeResources } from '../../src/proxy/xds/decode.js';

export interface AuthzRequest {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  /** The peer's SPIFFE ID (URI SAN); absent: plaintext, no peer certificate. */
  principal?: string;
  sourceIp?: string;
  destinationIp?: string;
  port?: number;
  sni?: string;
  /** A verified JWT payload, as the jwt_authn filter leaves it. */
  jwt?: Record<string, unknown>;
}

export interface ProxyAuthz {
  http: RbacFilterConfig[];
  tcp: RbacFilterConfig[];
  errors: string[];
}

/** Translate, then load into the proxy through a real LDS decode. */
export function proxyAuthz(policies: AuthorizationPolicyResource[], workload: AuthzWorkload, rootNamespace?: string): ProxyAuthz {
  const out = authorizationFilters(policies, workload, { rootNamespace });
  const listener = {
    name: 'inbound',
    address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
    filter_chains: [
      {
        name: 'http',
        filter_chain_match: { destination_port: { value: 8080 } },
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE_URL,
              stat_prefix: 'inbound',
              route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
              http_filters: [...out.http, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } }],
            },
          },
        ],
      },
      { name: 'tcp', filter_chain_match: { destination_port: { value: 9000 } }, filters: [...out.network, { name: 'tcp', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 'tcp', cluster: 'c' } }] },
    ],
  };
  const decoded = decodeResources('listener', [packAny(TypeUrl.listener, listener)]);
  assert.ok(decoded.valid, `the proxy NACKs the translated RBAC: ${!decoded.valid && decoded.errors.join('; ')}`);
  const [l] = decoded.result;
  const [httpChain, tcpChain] = l.model.filterChains;
  assert.equal(httpChain.terminal.kind, 'http_connection_manager');
  const http = httpChain.terminal.kind === 'http_connection_manager' ? httpChain.terminal.hcm.httpFilters.filter((f) => f.name.startsWith('envoy.filters.http.rbac')).map((f) => f.config as RbacFilterConfig) : [];
  const tcp = (tcpChain.readFilters ?? []).map((f) => f.config);
  assert.equal(http.length, out.http.length);
  assert.equal(tcp.length, out.network.length);
  return { http, tcp, errors: out.errors };
}

function input(r: AuthzRequest, forHttp: boolean): RbacInput {
  const connection: ConnectionInfo = {
    localAddress: r.destinationIp ?? '10.0.0.2',
    localPort: r.port ?? (forHttp ? 8080 : 9000),
    remoteAddress: r.sourceIp ?? '10.0.0.1',
    remotePort: 40000,
    transportProtocol: r.principal || r.sni ? 'tls' : 'raw_buffer',
    tls: r.principal || r.sni ? { sni: r.sni, peerUriSans: r.principal ? [r.principal] : [], peerDnsSans: [], peerSubject: '', localUriSan: '' } : undefined,
  };
  if (!forHttp) return { connection };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  const path = r.path ?? '/';
  const pseudo: Record<string, string> = { ':method': r.method ?? 'GET', ':path': path, ':authority': r.host ?? 'httpbin.foo' };
  const metadata: DynamicMetadata = r.jwt ? new Map([[AUTHN_METADATA_NAMESPACE, authnMetadata(r.jwt)]]) : new Map();
  return { connection, http: { path: path.split('?')[0], header: (n) => pseudo[n] ?? headers[n] }, metadata };
}

/** Run the chain's RBAC filters in order: the first that denies ends the request. */
export function decide(filters: readonly RbacFilterConfig[], r: AuthzRequest, forHttp = true): 'allow' | 'deny' {
  const i = input(r, forHttp);
  for (const f of filters) if (f.rules && !f.rules.evaluate(i).allowed) return 'deny';
  return 'allow';
}
