// CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) on the control plane's xDS port: a real
// control plane process, a client on a real ADS stream that ACKs CDS and NACKs LDS, a real gRPC CSDS
// client (Fetch and Stream), and `weft proxy-status --csds` printing what `weft proxy-status` prints
// from /debug/syncz.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrl, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import { clientStatusDiscoveryService, type ClientStatusRequestWire, type ClientStatusResponseWire } from '../../src/api/csds.js';
import { clientStatus } from '../../src/controlplane/xds/csds.js';
import type { ProxyStatus } from '../../src/controlplane/xds/server.js';
import { freePorts, httpGetJson, spawnWeft, waitFor, weftBin, type Proc } from '../helpers/processes.js';
import { openAdsCall, sidecarNode } from './loopback-ads.js';

const status = (id: string, types: ProxyStatus['types']): ProxyStatus => ({ id, service: 'reviews', namespace: 'default', address: '127.0.0.4', labels: { app: 'reviews' }, protocol: 'sotw', connectedAt: '', types });
const t = (sent: string | null, acked: string | null, nack: string | null = null) => ({ sent, acked, nack: nack ? { version: sent!, message: nack, at: '2026-01-01T00:00:00.000Z' } : null, sentAt: null, ackedAt: null, resources: 1 });

describe('CSDS: the status of each client', () => {
  const proxies = [status('sidecar~a', { cluster: t('3', '3'), listener: t('4', '3'), endpoint: t('5', '5', null), route: t('6', '5', 'bad route') }), status('sidecar~b', {})];
  const of = (req: ClientStatusRequestWire) => {
    const r = clientStatus(proxies, req);
    assert.ok(r.ok);
    return r.response;
  };

  it('maps SYNCED, STALE and NACKED (ERROR, with the message) per type', () => {
    const [a] = of({ node: { id: 'sidecar~a', cluster: '' } }).config;
    assert.deepEqual(
      a.generic_xds_configs.map((g) => [g.type_url.split('.').pop(), g.version_info, g.config_status, g.error_state?.details]),
      [['Cluster', '3', 'SYNCED', undefined], ['Listener', '4', 'STALE', undefined], ['ClusterLoadAssignment', '5', 'SYNCED', undefined], ['RouteConfiguration', '6', 'ERROR', 'bad route']],
    );
  });

  it('selects clients by node_id matchers; no matcher selects all', () => {
    assert.deepEqual(of({}).config.map((c) => c.node.id), ['sidecar~a', 'sidecar~b']);
    assert.deepEqual(of({ node_matchers: [{ node_id: { exact: 'sidecar~b' } }] }).config.map((c) => c.node.id), ['sidecar~b']);
    assert.deepEqual(of({ node_matchers: [{ node_id: { prefix: 'sidecar~' } }] }).config.length, 2);
    assert.deepEqual(of({ node_matchers: [{ node_id: { suffix: '~a' } }] }).config.map((c) => c.node.id), ['sidecar~a']);
  });

  it('refuses a metadata matcher, naming it', () => {
    const r = clientStatus(proxies, { node_matchers: [{ node_metadatas: [{}] }] });
    assert.ok(!r.ok);
    assert.match(r.message, /node_matchers\[0\]\.node_metadatas: not supported/);
  });
});

describe('CSDS on a running control plane', () => {
  let cp: Proc;
  let dir: string;
  let xds: number;
  let monitor: number;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-csds-'));
    [xds, monitor] = await freePorts(2);
    cp = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '50']);
    await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`).catch(() => undefined))?.ok, 20_000, [cp]);
  });
  after(async () => {
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const csdsClient = () => {
    const Client = clientStatusDiscoveryService();
    return new Client(`127.0.0.1:${xds}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      FetchClientStatus(req: ClientStatusRequestWire, cb: (err: grpc.ServiceError | null, res: ClientStatusResponseWire) => void): void;
      StreamClientStatus(): grpc.ClientDuplexStream<ClientStatusRequestWire, ClientStatusResponseWire>;
    };
  };
  const fetchStatus = (req: ClientStatusRequestWire) => {
    const client = csdsClient();
    return new Promise<ClientStatusResponseWire>((resolve, reject) => client.FetchClientStatus(req, (err, res) => (client.close(), err ? reject(err) : resolve(res))));
  };
  const weft = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [weftBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      child.on('close', (code) => resolve({ code, out }));
    });

  it('reports what each client ACKed and NACKed, over Fetch and Stream, and proxy-status --csds prints what /debug/syncz gives', async () => {
    const ads = openAdsCall<DiscoveryRequestWire, DiscoveryResponseWire>(`127.0.0.1:${xds}`, 'StreamAggregatedResources');
    const id = 'sidecar~127.0.0.4~reviews-v1.default~default.svc.cluster.local';
    try {
      // The client ACKs every CDS response and NACKs every LDS one, however many pushes there are.
      const last: Record<string, DiscoveryResponseWire> = {};
      let pumping = true;
      const pump = (async () => {
        while (pumping) {
          const r = await ads.next(200).catch(() => undefined);
          if (!r) continue;
          last[r.type_url] = r;
          const nack = r.type_url === TypeUrl.listener ? { error_detail: { code: 3, message: 'listener refused for the test' } } : {};
          ads.write({ version_info: nack.error_detail ? '' : r.version_info, resource_names: [], type_url: r.type_url, response_nonce: r.nonce, ...nack });
        }
      })();
      ads.write({ version_info: '', node: sidecarNode(id, 'reviews', 'v1', '127.0.0.4'), resource_names: [], type_url: TypeUrl.cluster, response_nonce: '' });
      ads.write({ version_info: '', resource_names: [], type_url: TypeUrl.listener, response_nonce: '' });

      const configs = await waitFor('CSDS shows the ACK and the NACK', async () => {
        const res = await fetchStatus({ node_matchers: [{ node_id: { exact: id } }] });
        const g = res.config[0]?.generic_xds_configs ?? [];
        const ok = g.find((x) => x.type_url === TypeUrl.listener)?.config_status === 'ERROR' && g.find((x) => x.type_url === TypeUrl.cluster)?.config_status === 'SYNCED';
        return ok && g;
      });
      pumping = false;
      await pump;
      assert.equal(configs.find((g) => g.type_url === TypeUrl.cluster)?.version_info, last[TypeUrl.cluster].version_info);
      const lis = configs.find((g) => g.type_url === TypeUrl.listener)!;
      assert.equal(lis.error_state?.details, 'listener refused for the test');
      assert.equal(lis.version_info, last[TypeUrl.listener].version_info);

      // The stream answers each request with the status at that moment.
      const client = csdsClient();
      const stream = client.StreamClientStatus();
      const answers: ClientStatusResponseWire[] = [];
      const got = new Promise<void>((resolve) => stream.on('data', (r: ClientStatusResponseWire) => (answers.push(r), answers.length === 2 && resolve())));
      stream.write({});
      stream.write({ node_matchers: [{ node_id: { exact: 'nobody' } }] });
      await got;
      stream.end();
      client.close();
      assert.deepEqual(answers[0].config.map((c) => c.node.id), [id]);
      assert.deepEqual(answers[1].config, []);

      const viaCsds = await weft(['proxy-status', '--csds', '--xds-address', `127.0.0.1:${xds}`]);
      const viaSyncz = await weft(['proxy-status', '--monitor-address', `127.0.0.1:${monitor}`]);
      assert.equal(viaCsds.code, 1, viaCsds.out);
      assert.match(viaCsds.out, /NACKED/);
      assert.match(viaCsds.out, /listener refused for the test/);
      assert.equal(viaCsds.out, viaSyncz.out);
      const syncz = await httpGetJson<{ proxies: ProxyStatus[] }>(`http://127.0.0.1:${monitor}/debug/syncz`);
      assert.equal(syncz.proxies[0].types.listener?.nack?.message, 'listener refused for the test');
    } finally {
      ads.close();
    }
  });

  it('proxy-status --csds says where it looked when nothing answers', async () => {
    const [closed] = await freePorts(1);
    const r = await weft(['proxy-status', '--csds', '--xds-address', `127.0.0.1:${closed}`]);
    assert.equal(r.code, 2);
    assert.match(r.out, new RegExp(`CSDS on 127.0.0.1:${closed}`));
  });
});
