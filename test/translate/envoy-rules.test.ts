// Envoy's own rules over everything Weft's control plane produces: the protoc-gen-validate annotations
// (the generic checker over the reflected descriptors) and Envoy's semantic checks, for every scenario
// (all fixtures, the goldens' inputs, hand-written configs) and every client kind's composition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl, type XdsType } from '../../src/api/envoy.js';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { translateFor } from '../../src/controlplane/translate/index.js';
import { COMPOSITIONS, type ClientKind } from '../../src/controlplane/xds/compositions.js';
import { checkResource, formatViolation } from '../../src/controlplane/xds/envoy-rules/check.js';
import { semanticProblems } from '../../src/controlplane/xds/envoy-rules/semantic.js';
import { envoyScenarios } from './envoy-scenarios.js';
import { TEST_VIP_RANGE } from './fixtures.js';

const captured = (p: ProxyNode): ProxyNode => ({ ...p, interceptionMode: 'REDIRECT', ports: p.ports.map((q) => ({ ...q, endpointPort: q.appPort })) });
const KINDS = Object.keys(COMPOSITIONS) as ClientKind[];
/** The clients whose output differs most: a plain caller, a policy target, a TCP server. */
const CLIENTS = new Set(['productpage', 'reviews', 'mysqldb']);

const scenarios = envoyScenarios();
let resourcesChecked = 0;
/** What upstream Envoy (without istio-proxy's extensions) would refuse beyond what istio-proxy does. */
const upstreamOnly = new Set<string>();
const VHDS_OVER_ADS = "vhds: only 'DELTA_GRPC' is supported as an api_type.";
const vhdsOverAds = new Set<string>();

for (const s of scenarios) {
  test(`envoy rules: ${s.name}`, () => {
    const problems: string[] = [];
    for (const kind of KINDS) {
      const proxies = kind.startsWith('captured-') ? s.proxies.map(captured) : s.proxies;
      const snap = buildSnapshot({ config: s.config, proxies, domain: 'cluster.local', vipRange: TEST_VIP_RANGE, ...(s.mesh ? { mesh: s.mesh } : {}) });
      const seen = new Set<string>();
      for (const client of proxies) {
        if (!CLIENTS.has(client.service) || seen.has(client.service)) continue;
        seen.add(client.service);
        const set = translateFor(snap, client, kind);
        for (const type of Object.keys(set) as XdsType[]) {
          for (const r of set[type]) {
            resourcesChecked++;
            for (const v of checkResource(TypeUrl[type], r.body)) problems.push(`${kind} ${client.service} ${type} ${r.name}: ${formatViolation(v)} [${v.rule}]`);
          }
        }
        const istioProxy = semanticProblems(set);
        for (const p of istioProxy) {
          // Recorded: VHDS over ADS is Weft's own proxy's; Envoy refuses it, so Envoy is bootstrapped on SotW ADS.
          if (kind === 'sidecar-delta' && p.endsWith(VHDS_OVER_ADS)) vhdsOverAds.add(p.replace(/^(\w+) \S+: /, '$1: '));
          else problems.push(`${kind} ${client.service} ${p}`);
        }
        for (const p of semanticProblems(set, { build: 'envoy' })) if (!istioProxy.includes(p)) upstreamOnly.add(p.replace(/^(\w+) \S+: /, '$1: '));
      }
    }
    assert.deepEqual([...new Set(problems)], []);
  });
}

test('envoy rules: upstream Envoy refuses only the istio-proxy extension Weft emits (istio.stats)', () => {
  // Recorded, not fixed here: the metrics owners decide (an HTTP filter can be is_optional; a network
  // filter has no such flag, so a TCP chain with istio.stats needs istio-proxy).
  assert.deepEqual([...upstreamOnly].sort(), [
    "listener: Didn't find a registered implementation for type URL 'stats.PluginConfig' (an istio-proxy extension, not in upstream Envoy)",
  ]);
});

test("envoy rules: the Delta sidecar's VHDS over ADS is the one thing Envoy refuses in Weft's own compositions", () => {
  // Weft's proxy subscribes to virtual hosts on its ADS stream; Envoy only on a DELTA_GRPC stream of
  // VirtualHostDiscoveryService. `weft bootstrap --envoy` therefore asks for SotW ADS (whole route tables).
  assert.deepEqual([...vhdsOverAds], [`route: ${VHDS_OVER_ADS}`]);
});

test('envoy rules: the scenarios cover the fixtures and check a meaningful number of resources', () => {
  assert.ok(scenarios.length >= 40, `${scenarios.length} scenarios`);
  assert.ok(resourcesChecked > 5000, `${resourcesChecked} resources checked`);
  console.log(`${scenarios.length} scenarios, ${resourcesChecked} resources checked`);
});
