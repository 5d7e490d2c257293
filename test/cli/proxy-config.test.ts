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

const monitor = () => ['--monitor-address', `127.0.0.1:${p.monitor}`];
const proxies = () => httpGetJson<{ proxies: ProxyStatus[] }>(`http://127.0.0.1:${p.monitor}/debug/syncz`).then((b) => b.proxies);
const productpageId = async () => (await proxies()).find((x) => x.service === 'productpage')!.id;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxy-config-'));
  const caDir = path.join(dir, 'ca');
  p = await pairPorts();
  app = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('reviews says hi'));
  });
  await new Promise<void>((r) => app.listen(p.app, '127.0.0.1', r));
  await spawnSecureControlPlane(dir, caDir, { xds: p.xds, secure: p.secure, monitor: p.monitor }, procs);
  productpage = spawnPairSidecar(p, dir, caDir, 'productpage', p.ppOut, p.ppIn, p.ppAdmin, {}, ['--labels', 'app=productpage,version=v1']);
  procs.push(spawnPairSidecar(p, dir, caDir, 'reviews', p.rvOut, p.rvIn, p.rvAdmin, {}, ['--labels', 'app=reviews,version=v2']), productpage);
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
  let out = text;
  for (const [from, to] of fixed) out = out.replace(new RegExp(`\\b${from}\\b`, 'g'), String(to));
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
