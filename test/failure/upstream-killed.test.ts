// An upstream killed mid-load, through a real `weft proxy` process: its in-flight requests are
// reset and new connections to it are refused, yet retries (to other hosts: previous_hosts) and
// outlier detection (the dead host ejected) keep callers at ≥ 99.9% success.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { listenerPorts, startSidecarProcess, type SidecarProcess } from '../helpers/sidecar.js';
import { rdsListener, request, staticCluster, startUpstream, type Upstream } from '../proxy/helpers/resources.js';

let ups: Upstream[] = [];
let sc: SidecarProcess;
let port = 0;

before(async () => {
  // Each answers after a few ms, so a kill always finds requests in flight.
  ups = await Promise.all(
    ['a', 'b', 'c'].map((n) =>
      startUpstream(n, (_req, res) => {
        setTimeout(() => res.end(n), 3);
        return true;
      }),
    ),
  );
  [port] = await listenerPorts(1);
  sc = await startSidecarProcess({
    clusters: [
      staticCluster(
        'app',
        ups.map((u) => u.port),
        { outlier_detection: { enforcing_success_rate: { value: 0 }, consecutive_5xx: { value: 3 }, consecutive_gateway_failure: { value: 3 }, interval: { nanos: 200_000_000 }, base_ejection_time: { seconds: 30 }, max_ejection_percent: { value: 50 } } },
      ),
    ],
    listeners: [rdsListener('out', port)],
    routes: [
      {
        name: 'out',
        virtual_hosts: [
          {
            name: 'app',
            domains: ['app'],
            routes: [
              {
                match: { prefix: '/' },
                route: {
                  cluster: 'app',
                  retry_policy: {
                    retry_on: 'connect-failure,reset,refused-stream,5xx',
                    num_retries: { value: 3 },
                    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
                    host_selection_retry_max_attempts: 5,
                  },
                },
              },
            ],
          },
        ],
      },
    ],
  });
});

after(async () => {
  await sc?.stop();
  for (const u of ups) await u.close();
});

test('one of three upstreams killed under load: ≥ 99.9% of requests succeed, and it is ejected', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let ok = 0;
  let failed = 0;
  let running = true;
  const deadline = Date.now() + 20_000;
  const worker = async () => {
    while (running && Date.now() < deadline) {
      const r = await request(port, { host: 'app', agent }).catch(() => undefined);
      if (r?.status === 200) ok++;
      else failed++;
    }
  };
  const workers = Array.from({ length: 6 }, worker);
  while (ok < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // Kill b: the listening socket closes and every open connection (with requests in flight) is cut.
  await ups[1].close();
  const killedAt = ok + failed;
  while (ok + failed < killedAt + 3000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  running = false;
  await Promise.all(workers);
  agent.destroy();
  const total = ok + failed;
  console.log(`# upstream killed mid-load: ${total} requests, ${failed} failed`);
  assert.ok(total >= 3000, `load ran (${total})`);
  assert.ok(ok / total >= 0.999, `success ${((100 * ok) / total).toFixed(2)}% (${failed} failed)`);
  const st = await sc.stats();
  const ejected = Object.entries(st).filter(([k]) => k.startsWith('cluster.app.') && k.includes('ejections_enforced'));
  assert.ok(ejected.some(([, v]) => v >= 1), `ejection counted: ${JSON.stringify(ejected)}`);
});
