// `weft bootstrap --proxyless` (beside --envoy, test/cli/bootstrap.test.ts): the JSON a gRPC application's xDS resolver starts from, in Istio's
// shape, as grpc-js-xds itself validates it.
import { validateBootstrapConfig } from '@grpc/grpc-js-xds/build/src/xds-bootstrap.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { weftBin } from '../helpers/processes.js';

const weft = (...args: string[]) => spawnSync(process.execPath, [weftBin, 'bootstrap', ...args], { encoding: 'utf8' });

test('weft bootstrap --proxyless prints an Istio-shaped bootstrap that grpc-js-xds accepts', () => {
  const r = weft('--proxyless', '--service', 'echo-client', '--namespace', 'shop', '--xds-address', 'weft-control-plane.weft-system:15010', '--address', '10.0.0.9', '--locality', 'eu/eu-1', '--labels', 'version=v2');
  assert.equal(r.status, 0, r.stderr);
  const boot = JSON.parse(r.stdout);
  assert.deepEqual(boot.xds_servers, [{ server_uri: 'weft-control-plane.weft-system:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }]);
  assert.equal(boot.node.id, 'proxyless~10.0.0.9~echo-client.shop~shop.svc.cluster.local');
  assert.deepEqual(boot.node.locality, { region: 'eu', zone: 'eu-1' });
  assert.deepEqual(boot.node.metadata, { GENERATOR: 'grpc', NAMESPACE: 'shop', INSTANCE_IPS: '10.0.0.9', LABELS: { app: 'echo-client', version: 'v2' } });
  const info = validateBootstrapConfig(boot);
  assert.equal(info.xdsServers[0].server_uri, 'weft-control-plane.weft-system:15010');
  assert.equal(info.node.id, boot.node.id);
});

test('weft bootstrap refuses what it cannot print, naming the flag', () => {
  for (const [args, message] of [
    [['--service', 'echo'], /name the client kind: --envoy .* or --proxyless/],
    [['--service', 'echo', '--proxyless', '--envoy'], /choose one client kind/],
    [['--proxyless', '--service', 'Echo_1'], /--service: expected a DNS label/],
    [['--proxyless', '--service', 'echo', '--xds-address', 'nowhere'], /--xds-address: expected host:port/],
    [['--proxyless', '--service', 'echo', '--labels', 'novalue', '--serve-port', '0'], /--labels: expected k=v.*\n--serve-port: expected a port/s],
  ] as const) {
    const r = weft(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, message);
  }
});
