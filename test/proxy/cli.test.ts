// `weft proxy` flag parsing, node metadata, and the CLI's exit code on bad flags.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { fromStruct } from '../../src/api/envoy.js';
import { parseProxyFlags, type ProxyFlags } from '../../src/cli/proxy.js';
import { buildNode } from '../../src/proxy/xds/node.js';

const base: ProxyFlags = { xdsAddress: '127.0.0.1:15010', service: 'reviews', appPort: '9081', labels: 'app=reviews,version=v2' };

describe('weft proxy flags', () => {
  const bad: { name: string; flags: ProxyFlags; error: RegExp }[] = [
    { name: 'port not a number', flags: { ...base, appPort: 'abc' }, error: /^--app-port: must be a port number 1\.\.65535, got "abc" \[WEFT_E_BAD_FLAG\]$/ },
    { name: 'port out of range', flags: { ...base, inboundPort: '70000' }, error: /^--inbound-port: must be a port number/ },
    { name: 'xds address without port', flags: { ...base, xdsAddress: 'localhost' }, error: /^--xds-address: must be host:port, got "localhost"/ },
    { name: 'bad service name', flags: { ...base, service: 'Reviews_V1' }, error: /^--service: must be a DNS label/ },
    { name: 'bad labels', flags: { ...base, labels: 'version' }, error: /^--labels: expected k=v/ },
    { name: 'bad address', flags: { ...base, address: 'my-host' }, error: /^--address: must be an IP address/ },
    { name: 'bad protocol', flags: { ...base, protocol: 'SMTP' }, error: /^--protocol: must be one of/ },
    { name: 'port clash', flags: { ...base, outboundPort: '15000', adminPort: '15000' }, error: /^--admin-port: 15000 is also --outbound-port/ },
    { name: 'bad locality', flags: { ...base, locality: 'a/b/c/d' }, error: /^--locality: expected region\[\/zone\[\/subzone\]\]/ },
    { name: 'unknown mode', flags: { ...base, mode: 'tproxy' }, error: /^--mode: must be explicit or transparent, got "tproxy" \[WEFT_E_BAD_FLAG\]$/ },
    { name: 'uid not a number', flags: { ...base, proxyUid: 'istio-proxy' }, error: /^--proxy-uid: must be a numeric id/ },
    { name: 'gid without uid', flags: { ...base, proxyGid: '1337' }, error: /^--proxy-gid: needs --proxy-uid/ },
    { name: 'telemetry port clash', flags: { ...base, telemetryPort: '15001' }, error: /^--telemetry-port: 15001 is also --outbound-port/ },
    { name: 'bad app metrics port', flags: { ...base, appMetricsPort: '0' }, error: /^--app-metrics-port: must be a port number 1\.\.65535/ },
    { name: 'relative app metrics path', flags: { ...base, appMetricsPort: '9090', appMetricsPath: 'metrics' }, error: /^--app-metrics-path: must be an absolute path/ },
    { name: 'bad cluster id', flags: { ...base, clusterId: 'a b' }, error: /^--cluster-id: must be 1-63 letters/ },
    { name: 'unknown xDS protocol', flags: { ...base, xdsProtocol: 'incremental' }, error: /^--xds-protocol: must be one of delta, sotw, got "incremental" \[WEFT_E_BAD_FLAG\]$/ },
  ];
  for (const c of bad) {
    it(c.name, () => {
      const r = parseProxyFlags(c.flags);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.errors.some((e) => c.error.test(e)), r.errors.join('\n'));
    });
  }

  it('fills defaults like main.ts documents', () => {
    const r = parseProxyFlags(base);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.value.workload, {
      service: 'reviews',
      namespace: 'default',
      labels: { app: 'reviews', version: 'v2' },
      serviceAccount: 'default',
      address: '127.0.0.1',
      appPort: 9081,
      servicePort: 9081,
      outboundPort: 15001,
      inboundPort: 15006,
      protocol: 'HTTP',
      id: undefined,
      telemetryPort: 15020,
    });
    assert.equal(r.value.adminPort, 15000);
    // Istio's merged telemetry port, metrics on, Istio's default cluster id, no app metrics merge.
    assert.equal(r.value.telemetryPort, 15020);
    assert.equal(r.value.metrics, true);
    assert.equal(r.value.clusterId, 'Kubernetes');
    assert.equal(r.value.appMetrics, undefined);
    const merged = parseProxyFlags({ ...base, appMetricsPort: '9090', telemetryPort: '0', metrics: false });
    assert.ok(merged.ok && merged.value.telemetryPort === 0 && !merged.value.metrics);
    assert.deepEqual(merged.ok && merged.value.appMetrics, { port: 9090, path: '/metrics' });
    assert.equal(r.value.xdsProtocol, 'delta', 'Delta ADS (with on-demand VHDS) by default');
    const sotw = parseProxyFlags({ ...base, xdsProtocol: 'sotw' });
    assert.ok(sotw.ok && sotw.value.xdsProtocol === 'sotw');
  });

  it('node metadata has exactly the registration keys', () => {
    const r = parseProxyFlags({ ...base, servicePort: '9080', address: '10.1.2.3', namespace: 'shop', serviceAccount: 'bookinfo-reviews' });
    assert.ok(r.ok);
    if (!r.ok) return;
    const node = buildNode(r.value.workload, 4242);
    assert.equal(node.id, 'sidecar~10.1.2.3~reviews-4242.shop~shop.svc.cluster.local');
    assert.equal(node.cluster, 'reviews');
    assert.equal(node.user_agent_name, 'weft');
    assert.deepEqual(fromStruct(node.metadata), {
      NAMESPACE: 'shop',
      LABELS: { app: 'reviews', version: 'v2' },
      SERVICE_ACCOUNT: 'bookinfo-reviews',
      INSTANCE_IPS: '10.1.2.3',
      WORKLOAD_NAME: 'reviews-v2',
      WEFT_SERVICE: 'reviews',
      WEFT_PORTS: [{ service_port: 9080, endpoint_port: 15006, app_port: 9081, protocol: 'HTTP' }],
      WEFT_OUTBOUND_PORT: 15001,
      WEFT_INBOUND_PORT: 15006,
      WEFT_CAPTURE: 'explicit',
      WEFT_TELEMETRY_PORT: 15020,
    });
    const noTelemetry = parseProxyFlags({ ...base, telemetryPort: '0' });
    assert.ok(noTelemetry.ok && !('WEFT_TELEMETRY_PORT' in fromStruct(buildNode(noTelemetry.value.workload).metadata)), 'no telemetry port: none to scrape');
    assert.equal(node.locality, undefined, 'no locality unless given');
    const located = parseProxyFlags({ ...base, locality: 'us-east/us-east-1a' });
    assert.ok(located.ok);
    if (located.ok) assert.deepEqual(buildNode(located.value.workload).locality, { region: 'us-east', zone: 'us-east-1a', sub_zone: '' });
    const noVersion = buildNode({ ...r.value.workload, labels: {}, id: 'custom-id' });
    assert.equal(noVersion.id, 'custom-id');
    assert.equal(fromStruct(noVersion.metadata).WORKLOAD_NAME, 'reviews-v0');
  });

  it('transparent mode: Istio INTERCEPTION_MODE REDIRECT, peers reach the app port; --proxy-uid sets the gid too', () => {
    const r = parseProxyFlags({ ...base, mode: 'transparent', proxyUid: '1337' });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.value.runAs, { uid: 1337, gid: 1337 });
    const md = fromStruct(buildNode(r.value.workload).metadata);
    assert.equal(md.INTERCEPTION_MODE, 'REDIRECT');
    assert.equal(md.WEFT_CAPTURE, 'transparent');
    assert.deepEqual(md.WEFT_PORTS, [{ service_port: 9081, endpoint_port: 9081, app_port: 9081, protocol: 'HTTP' }]);
    const explicit = parseProxyFlags(base);
    assert.ok(explicit.ok && explicit.value.runAs === undefined && fromStruct(buildNode(explicit.value.workload).metadata).INTERCEPTION_MODE === undefined);
  });

  it('transparent mode refuses to start without SO_ORIGINAL_DST support, naming why', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/weft.js'), 'proxy', '--xds-address', '127.0.0.1:1', '--service', 'reviews', '--app-port', '9080', '--mode', 'transparent'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, WEFT_ORIGINAL_DST_ADDON: '/nonexistent/original_dst.node' },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /--mode transparent: transparent mode needs SO_ORIGINAL_DST: .*(cannot load \/nonexistent\/original_dst\.node|Linux only).*\[WEFT_E_ORIGINAL_DST_UNAVAILABLE\]/);
  });

  it('the CLI exits 2 with every flag error on stderr', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin/weft.js'), 'proxy', '--xds-address', 'nohost', '--service', 'reviews', '--app-port', 'abc'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--app-port: must be a port number/);
    assert.match(r.stderr, /--xds-address: must be host:port/);
  });
});
