// A real Prometheus (Debian's /usr/bin/prometheus) for end-to-end tests: the scrape configuration is
// the one docs/observability.md gives (its `prometheus.yml` block, read from the doc so the two cannot
// drift), with only what a test machine must change: 1 s intervals, the test's own target addresses,
// no Kubernetes discovery. Started in a temporary directory (config, targets file, TSDB), stopped by PID
// and the directory removed, even when the test fails.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { terminate } from '../../src/demo/terminate.js';
import { repoRoot } from './paths.js';
import { freePorts, waitFor } from './processes.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';
const DOC = path.join(repoRoot, 'docs/observability.md');
const MARKER = '<!-- prometheus.yml:';

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  file_sd_configs?: { files: string[]; refresh_interval?: string }[];
  kubernetes_sd_configs?: unknown[];
  [k: string]: unknown;
}
export interface PrometheusConfig {
  global: Record<string, string>;
  scrape_configs: ScrapeConfig[];
}

/** The YAML block after the doc's marker, verbatim. */
export function docConfigText(): string {
  const doc = fs.readFileSync(DOC, 'utf8');
  const at = doc.indexOf(MARKER);
  if (at < 0) throw new Error(`${DOC}: no ${MARKER} block`);
  const m = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  if (!m) throw new Error(`${DOC}: no yaml block after ${MARKER}`);
  return m[1];
}

export interface SidecarTarget {
  port: number;
  namespace: string;
  pod: string;
}

export interface Prometheus {
  url: string;
  child: ChildProcess;
  /** Instant query; throws on an API error (a PromQL parse error among them). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/** `promtool check config` on the doc's file as written but for the Kubernetes job, which Debian's
 * build cannot parse (it is compiled without Kubernetes discovery); returns promtool's output. */
export function checkDocConfig(dir: string): string {
  const cfg = parse(docConfigText()) as PrometheusConfig;
  cfg.scrape_configs = cfg.scrape_configs.filter((j) => !j.kubernetes_sd_configs);
  const file = path.join(dir, 'doc-prometheus.yml');
  fs.writeFileSync(file, stringify(cfg));
  fs.writeFileSync(path.join(dir, 'weft-sidecars.json'), '[]');
  return execFileSync(PROMTOOL_BIN, ['check', 'config', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The doc's config for this test machine: 1 s intervals, the control plane's monitor address, the
 * targets file in `dir`, without the Kubernetes job. */
export function testConfig(dir: string, controlPlanePort: number): PrometheusConfig {
  const cfg = parse(docConfigText()) as PrometheusConfig;
  cfg.global.scrape_interval = '1s';
  cfg.global.evaluation_interval = '1s';
  cfg.scrape_configs = cfg.scrape_configs.filter((j) => !j.kubernetes_sd_configs);
  for (const job of cfg.scrape_configs) {
    for (const s of job.static_configs ?? []) s.targets = [`127.0.0.1:${controlPlanePort}`];
    for (const f of job.file_sd_configs ?? []) {
      f.files = f.files.map((name) => path.join(dir, name));
      f.refresh_interval = '1s';
    }
  }
  return cfg;
}

export async function startPrometheus(o: { controlPlanePort: number; sidecars: SidecarTarget[] }): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-prometheus-'));
  const [port] = await freePorts(1);
  const cfg = testConfig(dir, o.controlPlanePort);
  const groups = o.sidecars.map((s) => ({ targets: [`127.0.0.1:${s.port}`], labels: { namespace: s.namespace, pod: s.pod } }));
  fs.writeFileSync(path.join(dir, 'weft-sidecars.json'), JSON.stringify(groups));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify(cfg));
  const child = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await terminate(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('prometheus ready', async () => child.exitCode === null && (await fetch(`${url}/-/ready`)).ok, 20_000);
  } catch (err) {
    await stop();
    throw new Error(`${err}\n--- prometheus ---\n${out}`);
  }
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    const r = body.data!;
    // A scalar (e.g. `vector(0)` folded, or a plain number) is one unlabelled value.
    if (r.resultType === 'scalar') return [{ metric: {}, value: r.result as [number, string] }];
    return r.result as { metric: Record<string, string>; value: [number, string] }[];
  };
  return { url, child, query, stop };
}

/** Every active target of Prometheus with its health (after the targets file was read). */
export async function targets(p: Prometheus): Promise<{ job: string; instance: string; health: string; lastError: string }[]> {
  const body = (await (await fetch(`${p.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] } };
  return body.data.activeTargets.map((t) => ({ job: t.labels.job, instance: t.labels.instance, health: t.health, lastError: t.lastError }));
}
