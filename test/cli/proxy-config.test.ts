// `weft proxy-config` and `weft proxy-status PROXY` against real processes: a secure control plane and
// two sidecars (productpage → reviews, mTLS, Delta xDS with VHDS). The tables are golden files
// (test/cli/golden/, UPDATE_GOLDEN=1 rewrites them) rendered from productpage's real /config_dump and
// /clusters, with only what changes per run (random ports, pids, serials, dates) replaced by fixed
// values. The CLI itself runs as a child process for the lookups, the diff, the log level and stats.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readView, renderSection, type ConfigSection, type ProxyConfigFlags } from '../../src/cli/proxy-config.js';
import type { ProxyStatus } from '../../src/controlplane/xds/server.js';
import { spawnSecureControlPlane } from '../helpers/identity.js';
import { httpGetJson, stopAll, waitFor, weftBin, repoRoot, type Proc } from '../helpers/processes.js';
import { meshGet, pairPorts, spawnPairSidecar, type PairPorts } from '../helpers/secure-pair.js';

const GOLDEN_DIR = path.join(repoRoot, 'test/cli/golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

let p: PairPorts;
let dir: string;
const procs: Proc[] = [];
let app: http.Server;
let productpage: Proc;

function weft(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [weftBin, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** A config file for the control plane's watched directory. */
const writeConfig = (file: string, yaml: string) => fs.writeFileSync(path.join(dir, 'config', file), yaml);
const monitor = () => ['--monitor-address', `127.0.0.1:${p.monitor}`];
const proxies = () => httpGetJson<{ proxies: ProxyStatus[] }>(`http://127.0.0.1:${p.monitor}/debug/syncz`).then((b) => b.proxies);
const productpageId = async () => (await proxies()).find((x) => x.service === 'productpage')!.id;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxy-config-'));
  const caDir = path.join(dir, 'ca');
  p = await pairPorts();
  app = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // /fail answers 503 (the outlier test); everything else 200.
      res.statusCode = req.url === '/fail' ? 503 : 200;
      res.end('reviews says hi');
    });
  });
  await new Promise<void>((r) => app.listen(p.app, '127.0.0.1', r));
  await spawnSecureControlPlane(dir, caDir, { xds: p.xds, secure: p.secure, monitor: p.monitor }, procs);
  productpage = spawnPairSidecar(p, dir, caDir, 'productpage', p.ppOut, p.ppIn, p.ppAdmin, {}, ['--labels', 'app=productpage,version=v1']);
  // reviews on state-of-the-world xDS, productpage on Delta (VHDS): the diff is checked for both.
  procs.push(spawnPairSidecar(p, dir, caDir, 'reviews', p.rvOut, p.rvIn, p.rvAdmin, {}, ['--labels', 'app=reviews,version=v2', '--xds-protocol', 'sotw']), productpage);
  for (const admin of [p.rvAdmin, p.ppAdmin]) await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 30_000, procs);
  // productpage's app calls reviews once, so its on-demand route table holds reviews' virtual host.
  await waitFor('reviews reachable through productpage', async () => (await meshGet(p.ppOut, 'reviews:9080')).status === 200, 15_000, procs);
  await waitFor('both proxies synced', async () => (await proxies()).length === 2 && (await weft(['proxy-status', ...monitor()])).code === 0, 15_000, procs);
});

after(async () => {
  await stopAll(procs);
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The run's varying values, mapped to fixed ones of the same width (so columns line up the same). */
function normalizeRun(text: string, pid: number | undefined): string {
  const fixed: Array<[number, number]> = [
    [p.ppOut, 25001], [p.ppIn, 25006], [p.ppAdmin, 25000], [p.rvOut, 26001], [p.rvIn, 26006], [p.rvAdmin, 26000],
    [p.app, 29080], [p.secure, 25012], [p.xds, 25010], [p.monitor, 25014],
  ];
  // One pass: a random port that happens to equal another's fixed value is not replaced twice.
  const map = new Map(fixed.map(([from, to]) => [String(from), String(to)]));
  let out = text.replace(/\b\d{5}\b/g, (n) => map.get(n) ?? n);
  if (pid) out = out.replaceAll(`productpage-${pid}.`, 'productpage-4711.');
  return out;
}

/** The real dump with certificates' serials and validity replaced by fixed ones (their real values are checked apart). */
function fixSecrets(view: Awaited<ReturnType<typeof readView>>): void {
  let i = 0;
  for (const c of view.dump.configs)
    for (const s of (c.dynamic_active_secrets as Array<Record<string, { cert_chain?: unknown[]; trusted_ca?: unknown[] }>> | undefined) ?? [])
      for (const cert of [...(s.tls_certificate?.cert_chain ?? []), ...(s.validation_context?.trusted_ca ?? [])] as Array<Record<string, string>>) {
        cert.serial_number = `0A1B2C3D4E5F6071${String(++i).padStart(2, '0')}`;
        cert.valid_from = '2026-01-01T00:00:00.000Z';
        cert.expiration_time = '2036-01-01T00:00:00.000Z';
      }
}

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, `${name}.txt`);
  if (UPDATE || !fs.existsSync(file)) {
    fs.mkdirSync(GOLDEN_DIR, { recursive: true });
    fs.writeFileSync(file, actual);
    if (!UPDATE) assert.fail(`${file} did not exist: written; check it in (UPDATE_GOLDEN=1 rewrites)`);
    return;
  }
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${name}: differs from ${path.relative(repoRoot, file)} (UPDATE_GOLDEN=1 rewrites)`);
}

const TABLES: Array<[string, ConfigSection, Partial<ProxyConfigFlags>]> = [
  ['listeners', 'listeners', {}],
  ['listeners-port', 'listeners', {}],
  ['routes', 'routes', {}],
  ['routes-name', 'routes', { name: 'virtualOutbound' }],
  ['clusters', 'clusters', {}],
  ['clusters-inbound', 'clusters', { direction: 'inbound' }],
  ['clusters-fqdn', 'clusters', { fqdn: 'reviews.default.svc.cluster.local' }],
  ['endpoints', 'endpoints', {}],
  ['endpoints-healthy', 'endpoints', { status: 'healthy', fqdn: 'reviews' }],
  ['secrets', 'secrets', {}],
  ['all', 'all', {}],
];

test('proxy-config tables: golden files from a real proxy', async () => {
  const pid = productpage.child.pid;
  // Normalized before rendering: rows are sorted by port, so the fixed ports must be in place first.
  const view = JSON.parse(normalizeRun(JSON.stringify(await readView(`127.0.0.1:${p.ppAdmin}`)), pid)) as Awaited<ReturnType<typeof readView>>;
  fixSecrets(view);
  for (const [name, section, extra] of TABLES) {
    const flags: ProxyConfigFlags = { monitorAddress: '', output: 'short', ...extra, ...(name === 'listeners-port' ? { port: '25006' } : {}) };
    golden(name, renderSection(section, view, flags, new Date('2026-06-01T00:00:00Z')));
  }
  golden('bootstrap', renderSection('bootstrap', view, { monitorAddress: '', output: 'yaml' }).replace(/user_agent_version: .*/, 'user_agent_version: <version>'));
});

test('proxy-config through the CLI: PROXY found in /debug/syncz by its workload part; -o json is the raw Envoy config', async () => {
  const id = await productpageId();
  const workloadPart = id.split('~')[2];
  const r = await weft(['proxy-config', 'clusters', workloadPart, ...monitor(), '--direction', 'outbound']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^SERVICE FQDN +PORT +SUBSET +DIRECTION +TYPE +DESTINATION RULE$/m);
  assert.match(r.stdout, /^reviews\.default\.svc\.cluster\.local +9080 +- +outbound +EDS$/m);
  assert.doesNotMatch(r.stdout, /inbound/);
  const json = await weft(['proxy-config', 'listeners', '--admin-address', `127.0.0.1:${p.ppAdmin}`, '--port', String(p.ppOut), '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const listeners = JSON.parse(json.stdout) as Array<{ '@type': string; address: { socket_address: { port_value: number } } }>;
  assert.deepEqual(listeners.map((l) => [l['@type'], l.address.socket_address.port_value]), [['type.googleapis.com/envoy.config.listener.v3.Listener', p.ppOut]]);
  const unknown = await weft(['proxy-config', 'routes', 'no-such-proxy', ...monitor()]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no connected proxy matches "no-such-proxy"/);
});

test('proxy-config secrets: the real certificate, serial and SPIFFE ID; no key material anywhere in the output', async () => {
  const r = await weft(['proxy-config', 'secrets', await productpageId(), ...monitor()]);
  assert.equal(r.code, 0, r.stderr);
  const dump = await httpGetJson<{ configs: Array<Record<string, unknown>> }>(`http://127.0.0.1:${p.ppAdmin}/config_dump`);
  const secrets = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump')!.dynamic_active_secrets as Array<{ name: string; tls_certificate?: { cert_chain: Array<{ serial_number: string }> } }>;
  const serial = secrets.find((s) => s.name === 'default')!.tls_certificate!.cert_chain[0].serial_number.toLowerCase().replace(/^0+/, '');
  assert.match(r.stdout, new RegExp(`^default +Cert Chain +ACTIVE +true +${serial} +\\S+Z +\\S+Z +spiffe://cluster\\.local/ns/default/sa/productpage$`, 'm'));
  const yaml = await weft(['proxy-config', 'secrets', await productpageId(), ...monitor(), '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.stderr);
  for (const out of [r.stdout, yaml.stdout]) assert.doesNotMatch(out, /PRIVATE KEY|BEGIN CERTIFICATE|private_key/);
});

test('proxy-status PROXY: every type matches for a synced proxy; a NACKed change shows as the diff the proxy lacks', async () => {
  const id = await productpageId();
  const synced = await weft(['proxy-status', id, ...monitor()]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  for (const t of ['Clusters', 'Listeners', 'Endpoints', 'Routes', 'Virtual Hosts']) assert.match(synced.stdout, new RegExp(`^${t} Match$`, 'm'));
  const reviews = (await proxies()).find((x) => x.service === 'reviews')!;
  const sotw = await weft(['proxy-status', reviews.id, ...monitor()]);
  assert.equal(sotw.code, 0, sotw.stdout + sotw.stderr);
  assert.match(sotw.stdout, /SotW +SYNCED +SYNCED +SYNCED +SYNCED +N\/A/);
  assert.deepEqual(sotw.stdout.split('\n').filter((l) => / Match$| Don't Match$/.test(l)), ['Clusters Match', 'Listeners Match', 'Endpoints Match', 'Routes Match']);
  // A DestinationRule whose CA file exists only where the control plane cannot look: on the proxy's
  // machine it is missing, so the proxy NACKs the cluster (as Envoy does) and keeps running the old one.
  writeConfig(
    'reviews-ca.yaml',
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews-ca, namespace: default }
spec:
  host: reviews
  trafficPolicy: { tls: { mode: SIMPLE, caCertificates: /nonexistent/weft-proxy-status-ca.pem } }
`,
  );
  const nacked = await waitFor(
    'the proxy to NACK the new cluster',
    async () => {
      const r = await weft(['proxy-status', id, ...monitor()]);
      return /Delta +NACKED/.test(r.stdout) && r;
    },
    20_000,
    procs,
  );
  assert.equal(nacked.code, 1);
  assert.match(nacked.stdout, /^Listeners Match$/m);
  assert.match(nacked.stdout, /^Clusters Don't Match$/m);
  assert.match(nacked.stdout, /^--- control plane cluster outbound\|9080\|\|reviews\.default\.svc\.cluster\.local$/m);
  assert.match(nacked.stdout, /^\+\+\+ proxy cluster outbound\|9080\|\|reviews\.default\.svc\.cluster\.local$/m);
  // The control plane's side has the CA file; the proxy's does not.
  assert.match(nacked.stdout, /^- +"filename": "\/nonexistent\/weft-proxy-status-ca\.pem"/m);
  assert.match(nacked.stdout, /^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
  fs.rmSync(path.join(dir, 'config', 'reviews-ca.yaml'));
  await waitFor('back in sync', async () => (await weft(['proxy-status', id, ...monitor()])).code === 0, 20_000, procs);
});

test('proxy-config log: a live level change shows in the proxy output, and back', async () => {
  const id = await productpageId();
  const debugLines = () => productpage.output().split('\n').filter((l) => l.includes('[debug][http]')).length;
  const before = await weft(['proxy-config', 'log', id, ...monitor()]);
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, /^ {2}http: info$/m);
  await meshGet(p.ppOut, 'reviews:9080');
  assert.equal(debugLines(), 0, 'no debug line at info');
  const on = await weft(['proxy-config', 'log', id, ...monitor(), '--level', 'http:debug']);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /^ {2}http: debug$/m);
  assert.match(on.stdout, /^ {2}config: info$/m);
  assert.equal((await meshGet(p.ppOut, 'reviews:9080')).status, 200);
  await waitFor('a debug line for the request', async () => debugLines() === 1, 5000, procs);
  assert.match(productpage.output(), /\[debug\]\[http\] outbound_0\.0\.0\.0_\d+: GET reviews:9080\/ route=default cluster=outbound\|9080\|\|reviews\.default\.svc\.cluster\.local upstream=127\.0\.0\.1:\d+ code=200 flags=-/);
  const reset = await weft(['proxy-config', 'log', id, ...monitor(), '--reset']);
  assert.match(reset.stdout, /^ {2}http: info$/m);
  await meshGet(p.ppOut, 'reviews:9080');
  const stats = await httpGetJson<{ stats: Array<{ name: string; value: number }> }>(`http://127.0.0.1:${p.ppAdmin}/stats?format=json`);
  assert.ok(stats.stats.length > 0);
  assert.equal(debugLines(), 1, 'no debug line after the reset');
  const bad = await weft(['proxy-config', 'log', id, ...monitor(), '--level', 'loud']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"loud" is not one of trace, debug/);
});

test('proxy-config stats: Envoy text with --filter, Prometheus text with --prometheus', async () => {
  const id = await productpageId();
  const text = await weft(['proxy-config', 'stats', id, ...monitor(), '--filter', 'upstream_rq_total']);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.ok(lines.length > 0 && lines.every((l) => /upstream_rq_total: \d+$/.test(l)), text.stdout);
  assert.match(text.stdout, /^cluster\.outbound\|9080\|\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: [1-9]\d*$/m);
  const prom = await weft(['proxy-config', 'stats', id, ...monitor(), '--prometheus', '--filter', '^envoy_cluster_upstream_rq_total$']);
  assert.equal(prom.code, 0, prom.stderr);
  assert.match(prom.stdout, /^# TYPE envoy_cluster_upstream_rq_total counter$/m);
  assert.match(prom.stdout, /^envoy_cluster_upstream_rq_total\{cluster_name="outbound\|9080\|\|reviews\.default\.svc\.cluster\.local"\} [1-9]\d*$/m);
  assert.ok(prom.stdout.trim().split('\n').every((l) => l.includes('envoy_cluster_upstream_rq_total')), prom.stdout);
});

test('proxy-config endpoints: a host the outlier detector ejected shows OUTLIER CHECK FAILED', async () => {
  const id = await productpageId();
  writeConfig(
    'reviews-outlier.yaml',
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews-outlier, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }
`,
  );
  const row = new RegExp(`^127\\.0\\.0\\.1:${p.rvIn} +HEALTHY +(OK|FAILED) +outbound\\|9080\\|\\|reviews\\.default\\.svc\\.cluster\\.local$`, 'm');
  await waitFor('the outlier detection config applied', async () => (await weft(['proxy-status', id, ...monitor()])).code === 0, 20_000, procs);
  const before = await weft(['proxy-config', 'endpoints', id, ...monitor(), '--fqdn', 'reviews']);
  assert.equal(row.exec(before.stdout)?.[1], 'OK', before.stdout);
  const ejected = await waitFor(
    'reviews ejected after a 503',
    async () => {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: p.ppOut, path: '/fail', headers: { host: 'reviews:9080' }, agent: false }, (res) => res.resume().on('end', resolve));
        req.on('error', () => resolve());
        req.end();
      });
      const r = await weft(['proxy-config', 'endpoints', id, ...monitor(), '--fqdn', 'reviews']);
      return row.exec(r.stdout)?.[1] === 'FAILED' && r;
    },
    15_000,
    procs,
  );
  assert.equal(ejected.code, 0);
});
