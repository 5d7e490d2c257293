// `weft bootstrap --envoy`: the bootstrap passes Envoy's rules (validate.rules on
// envoy.config.bootstrap.v3.Bootstrap and the bootstrap's semantics); its node is one the control
// plane registers as a sidecar — shown over a real ADS stream, speaking as Envoy does (node on the
// first request only), with every resource served checked against Envoy's rules; and the CLI prints
// it as YAML or JSON. No Envoy binary can be installed here: the checker stands in for it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { messageType, toStruct, TypeUrl, xdsTypeOf, type DiscoveryRequestWire, type DiscoveryResponseWire, type Json, type NodeWire } from '../../src/api/envoy.js';
import { emptyConfigSet } from '../../src/config/kinds.js';
import { envoyBootstrap, envoyBootstrapProblems } from '../../src/controlplane/bootstrap/envoy.js';
import { parseProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { checkMessage, formatViolation } from '../../src/controlplane/xds/envoy-rules/check.js';
import { semanticProblems } from '../../src/controlplane/xds/envoy-rules/semantic.js';
import type { XdsResource } from '../../src/controlplane/translate/types.js';
import { weftBin } from '../helpers/processes.js';
import { openAdsCall, serveLoopbackAds } from '../xds/loopback-ads.js';
import { bookinfoProxies } from '../translate/fixtures.js';

const sidecar = () => envoyBootstrap({ service: 'reviews', namespace: 'default', appPort: 9080, labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'bookinfo-reviews', address: '127.0.0.8' });

/** The node as Envoy sends it: the bootstrap's, metadata as a Struct, Envoy's own user agent. */
function envoyNode(b: Record<string, Json>): NodeWire {
  const n = b.node as { id: string; cluster: string; metadata: Record<string, Json> };
  return { id: n.id, cluster: n.cluster, metadata: toStruct(n.metadata), user_agent_name: 'envoy', user_agent_version: '1.36.0' };
}

describe('weft bootstrap --envoy: the bootstrap', () => {
  it("passes Envoy's rules", () => {
    assert.deepEqual(envoyBootstrapProblems(sidecar()), []);
    assert.deepEqual(envoyBootstrapProblems(envoyBootstrap({ service: 'productpage', namespace: 'shop', xdsAddress: 'weft-control-plane.weft-system.svc:15010', locality: 'r1/z1/s1' })), []);
  });

  it('has ADS over gRPC to the xds cluster, LDS and CDS over ADS, an admin block and the node', () => {
    const b = sidecar() as Record<string, any>;
    assert.deepEqual(b.dynamic_resources.ads_config.grpc_services, [{ envoy_grpc: { cluster_name: 'xds-grpc' } }]);
    assert.equal(b.dynamic_resources.ads_config.transport_api_version, 'V3');
    // State of the world: Weft's Delta composition puts virtual hosts on VHDS over ADS, which Envoy refuses.
    assert.equal(b.dynamic_resources.ads_config.api_type, 'GRPC');
    assert.deepEqual(b.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b.admin.address.socket_address, { address: '127.0.0.1', port_value: 15000 });
    const xds = b.static_resources.clusters.find((c: any) => c.name === 'xds-grpc');
    assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 15010 });
    assert.equal(b.node.cluster, 'reviews.default');
  });

  it("the control plane's node parser takes its node as the sidecar it describes", () => {
    const parsed = parseProxyNode(envoyNode(sidecar()));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
    assert.equal(parsed.node.service, 'reviews');
    assert.equal(parsed.node.namespace, 'default');
    assert.equal(parsed.node.serviceAccount, 'bookinfo-reviews');
    assert.equal(parsed.node.address, '127.0.0.8');
    assert.deepEqual(parsed.node.labels, { app: 'reviews', version: 'v1' });
    assert.deepEqual(parsed.node.ports, [{ servicePort: 9080, endpointPort: 15006, appPort: 9080, protocol: 'HTTP' }]);
  });

  const broken: Array<{ name: string; change: (b: Record<string, any>) => void; want: RegExp }> = [
    { name: 'no ads_config', change: (b) => delete b.dynamic_resources.ads_config, want: /use ADS but ads_config is not set/ },
    { name: 'the ADS cluster is not static', change: (b) => (b.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name = 'nowhere'), want: /Unknown gRPC client cluster 'nowhere'/ },
    { name: 'the ADS cluster without HTTP/2', change: (b) => delete b.static_resources.clusters[0].typed_extension_protocol_options, want: /a gRPC client cluster must use HTTP\/2/ },
    { name: 'a zero connect timeout', change: (b) => (b.static_resources.clusters[0].connect_timeout = '0s'), want: /static_resources\.clusters\[0\]\.connect_timeout: value must be greater than 0s/ },
    { name: 'an admin port out of range', change: (b) => (b.admin.address.socket_address.port_value = 70000), want: /admin\.address\.socket_address\.port_value: value must be less than or equal to 65535/ },
    { name: 'a STATIC xds cluster naming a host', change: (b) => (b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'cp.example'), want: /malformed IP address: cp.example/ },
  ];
  for (const c of broken) {
    it(`a broken bootstrap is caught: ${c.name}`, () => {
      const b = structuredClone(sidecar()) as Record<string, any>;
      c.change(b);
      const problems = envoyBootstrapProblems(b);
      assert.ok(problems.some((p) => c.want.test(p)), problems.join('\n'));
    });
  }
});

describe('weft bootstrap --envoy: served by the control plane over ADS', () => {
  const ads = serveLoopbackAds({ graceMs: 0, config: emptyConfigSet, extraProxies: () => bookinfoProxies().filter((p) => p.service !== 'reviews') });

  it('an ADS client with the bootstrap node gets CDS, EDS, LDS and RDS that pass every Envoy check', async () => {
    const call = openAdsCall<DiscoveryRequestWire, DiscoveryResponseWire>(ads.address(), 'StreamAggregatedResources');
    const node = envoyNode(sidecar());
    const sets: Record<string, XdsResource[]> = {};
    const violations: string[] = [];
    try {
      const ask = async (typeUrl: string, names: string[], first: boolean) => {
        // set_node_on_first_message_only: Envoy sends the node once per stream.
        call.write({ version_info: '', ...(first ? { node } : {}), resource_names: names, type_url: typeUrl, response_nonce: '' });
        const res = await call.next(5000);
        assert.equal(res.type_url, typeUrl);
        const type = xdsTypeOf(typeUrl)!;
        const t = messageType(typeUrl);
        sets[type] = res.resources.map((any) => {
          const decoded = t.decode(any.value);
          for (const v of checkMessage(t, decoded)) violations.push(`${type}: ${formatViolation(v)}`);
          const body = t.toObject(decoded, { longs: Number, enums: String, json: true }) as Record<string, unknown>;
          return { name: String(body.name ?? body.cluster_name), body };
        });
        return sets[type];
      };
      const clusters = await ask(TypeUrl.cluster, [], true);
      assert.ok(clusters.some((c) => c.name === 'outbound|9080||ratings.default.svc.cluster.local'), 'outbound clusters');
      assert.ok(clusters.some((c) => c.name === 'inbound|9080||'), 'its own inbound cluster: served as the sidecar of reviews');
      const edsNames = clusters.filter((c) => c.body.type === 'EDS').map((c) => c.name);
      await ask(TypeUrl.endpoint, edsNames, false);
      const listeners = await ask(TypeUrl.listener, [], false);
      assert.ok(listeners.length >= 2, 'outbound and inbound listeners');
      await ask(TypeUrl.route, ['virtualOutbound'], false);
      assert.deepEqual(violations, []);
      assert.deepEqual(semanticProblems(sets), []);
    } finally {
      call.close();
    }
  });
});

describe('weft bootstrap CLI', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [weftBin, 'bootstrap', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('prints the bootstrap as JSON and as YAML (the default)', () => {
    const args = ['--envoy', '--service', 'reviews', '--namespace', 'default', '--app-port', '9080', '--labels', 'app=reviews,version=v1', '--service-account', 'bookinfo-reviews', '--address', '127.0.0.8'];
    const json = run(...args, '-o', 'json');
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), sidecar());
    const yaml = run(...args, '--xds-address', '127.0.0.1:25010', '--admin-port', '25000');
    assert.equal(yaml.status, 0, yaml.stderr);
    const b = YAML.parse(yaml.stdout);
    assert.equal(b.admin.address.socket_address.port_value, 25000);
    assert.equal(b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 25010);
    assert.deepEqual(envoyBootstrapProblems(b), []);
  });

  it('refuses bad flags, naming each, and asks for a client kind', () => {
    const bad = run('--envoy', '--service', 'Reviews', '--xds-address', 'nohost', '--admin-port', '0');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--service: must be a DNS label/);
    assert.match(bad.stderr, /--xds-address: must be host:port/);
    assert.match(bad.stderr, /--admin-port: must be a port number/);
    const none = run('--service', 'reviews');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--envoy/);
  });
});
