// The Weft pair for the h2c, gRPC and TCP rows. Weft's control plane does not yet translate a
// port's protocol into h2 clusters or tcp_proxy listeners, so these pairs are driven by a fixed
// ADS server (static-xds.ts) with the same Envoy resources the proxy's own tests run
// (test/proxy/http2.test.ts, grpc.test.ts, tcp-proxy.test.ts): the sidecars are the real
// `weft proxy` processes, only the xDS source differs from the HTTP/1.1 row. The mTLS pairs (HTTP/1.1
// or TCP) add the control plane's auto-mTLS transport sockets and SDS secrets (mtls.ts).
import fs from 'node:fs';
import path from 'node:path';
import { HCM_TYPE_URL, HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL, ROUTER_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import { start, waitFor, httpStatus, type Started } from '../lib/procs.js';
import { freePorts } from '../lib/ports.js';
import type { StaticResources } from './static-xds.js';
import { meshSecrets, withDownstreamMtls, withUpstreamMtls, type MeshCerts } from './mtls.js';

export type PairProtocol = 'http1' | 'h2c' | 'grpc' | 'tcp';

const h2Options = {
  [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } },
};

function cluster(name: string, port: number, protocol: PairProtocol): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 5 },
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    ...(protocol === 'tcp' || protocol === 'http1' ? {} : { typed_extension_protocol_options: h2Options }),
  };
}

function listener(name: string, port: number, cluster: string, protocol: PairProtocol): object {
  const filter =
    protocol === 'tcp'
      ? { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: name, cluster } }
      : {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': HCM_TYPE_URL,
            stat_prefix: name,
            // AUTO, the sidecar's default: HTTP/1.1 or h2c told apart on the first bytes.
            codec_type: 'AUTO',
            route_config: {
              name,
              // gRPC routes carry no route timeout (a stream lives as long as its peers keep it).
              virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: { seconds: 0 } } }] }],
            },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } }],
          },
        };
  return { name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: [{ filters: [filter] }] };
}

export interface WeftPairContext {
  dir: string;
  weftBin: string;
  nodeArgs: string[];
  /** The backend port this protocol's server sidecar forwards to. */
  backendPort: number;
  /** Answers true once a request through `port` succeeds end to end. */
  probe(port: number): Promise<boolean>;
  /** mTLS between the sidecars, with these certificates. */
  mtls?: MeshCerts;
}

export interface WeftPair {
  port: number;
  /** The server sidecar's inbound listener. */
  inboundPort: number;
  client: Started;
  server: Started;
  all: Started[];
}

/** Start the fixed ADS server and the two sidecars; resolves once traffic crosses the pair. */
export async function startWeftPair(protocol: PairProtocol, ctx: WeftPairContext): Promise<WeftPair> {
  const [xds, out, inb, adminC, adminS, unusedA, unusedB] = await freePorts(7);
  const tag = ctx.mtls ? `${protocol}-mtls` : protocol;
  const ids = { client: `bench-client-${tag}`, server: `bench-server-${tag}` };
  const inbound = listener('inbound', inb, 'app', protocol) as Record<string, unknown>;
  const upstream = cluster('server', inb, protocol) as Record<string, unknown>;
  const m = ctx.mtls;
  const resources: StaticResources = {
    [ids.server]: {
      listeners: [m ? withDownstreamMtls(inbound) : inbound],
      clusters: [cluster('app', ctx.backendPort, protocol)],
      ...(m ? { secrets: meshSecrets(m, 'server') } : {}),
    },
    [ids.client]: {
      listeners: [listener('outbound', out, 'server', protocol)],
      clusters: [m ? withUpstreamMtls(upstream, m, protocol === 'tcp' ? [] : ['http/1.1']) : upstream],
      ...(m ? { secrets: meshSecrets(m, 'client') } : {}),
    },
  };
  const file = path.join(ctx.dir, `weft-${tag}-xds.json`);
  fs.writeFileSync(file, JSON.stringify(resources));
  const all: Started[] = [];
  try {
    const ads = start(`weft-${tag}-xds`, process.execPath, [new URL('./static-xds.js', import.meta.url).pathname, String(xds), file], {
      logFile: path.join(ctx.dir, `weft-${tag}-xds.log`),
    });
    all.push(ads);
    await waitFor(`static xDS for ${protocol}`, async () => ads.tail().includes('ready'), 10_000, ads);
    // The listeners' ports come over LDS; --outbound/--inbound-port only fill the node's identity.
    const proxy = (role: 'client' | 'server', admin: number): Started =>
      start(
        `weft-${tag}-${role}`,
        process.execPath,
        [
          ...ctx.nodeArgs,
          ctx.weftBin,
          'proxy',
          '--xds-address',
          `127.0.0.1:${xds}`,
          '--xds-protocol',
          'sotw',
          '--id',
          ids[role],
          '--service',
          `bench-${role}`,
          '--app-port',
          String(role === 'server' ? ctx.backendPort : unusedA),
          '--outbound-port',
          String(unusedA),
          '--inbound-port',
          String(unusedB),
          '--admin-port',
          String(admin),
          // Stop within stop()'s 3 s grace, so a --cpu-prof profile is written on exit.
          '--drain-period-ms',
          '0',
          '--telemetry-port',
          '0',
          '--protocol',
          protocol === 'h2c' ? 'HTTP2' : protocol === 'http1' ? 'HTTP' : protocol.toUpperCase(),
        ],
        { logFile: path.join(ctx.dir, `weft-${tag}-${role}.log`) },
      );
    const server = proxy('server', adminS);
    all.push(server);
    const client = proxy('client', adminC);
    all.push(client);
    await waitFor(`weft ${protocol} server sidecar /ready`, async () => (await httpStatus(adminS, '/ready')) === 200, 20_000, server);
    await waitFor(`weft ${protocol} client sidecar /ready`, async () => (await httpStatus(adminC, '/ready')) === 200, 20_000, client);
    await waitFor(`a ${protocol} request through the Weft pair`, () => ctx.probe(out), 20_000, client);
    return { port: out, inboundPort: inb, client, server, all };
  } catch (e) {
    await Promise.all(all.map((p) => p.stop()));
    throw e;
  }
}
