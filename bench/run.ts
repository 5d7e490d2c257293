// `npm run bench`: the data-plane and control-plane benchmarks, then results/<date>-<commit>.{json,md}.
// Flags: --quick (shorter, fewer steps), --only dataplane|controlplane, --rows haproxy,weft,h2c,grpc-weft,…,
// --proxies 100,500,1000,2000, --xds delta,sotw, --no-save, --keep (keep the scratch dir), --profile DIR, --help.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runDataplane, type DataplaneResult } from './dataplane/run.js';
import { XDS_PROTOCOLS, type XdsProtocol } from '../src/api/envoy.js';
import { runControlplane, type ControlplaneResult } from './controlplane/run.js';
import { acquireBenchLock } from './lib/lock.js';
import { machineInfo } from './lib/procstat.js';
import { renderMarkdown, evaluateTargets, type BenchReport } from './report.js';

const HELP = `usage: npm run bench -- [options]
  --quick                 short run (~2 min): fewer seconds, control plane at 100 and 500 proxies
  --only <part>           dataplane | controlplane
  --rows <names>          data-plane rows or groups, each with its direct baseline (default: all).
                          rows: haproxy nginx weft weft-static haproxy-tls weft-mtls h2c-haproxy h2c-weft grpc-haproxy
                          grpc-weft tcp-haproxy tcp-weft tcp-haproxy-tls tcp-weft-mtls;
                          direct-netns weft-explicit-netns weft-iptables-netns weft-ebpf-netns (root);
                          groups: http1 h2c grpc tcp, mtls (the TLS rows and their plaintext twins),
                          capture (pairs across network namespaces per capture mode; not in the default run)
                          (e.g. --rows h2c,grpc,tcp,haproxy,weft)
  --proxies <counts>      control-plane steps (default: 100,500,1000,2000)
  --xds <protocols>       control-plane rows per step: delta (Weft's default, with VHDS), sotw (default: delta,sotw)
  --rounds <n>            open-loop rounds per row (default 3; with 3+ the median round counts)
  --seconds <s>           measured seconds per open-loop round (default 8)
  --changes <n>           config changes per control-plane step (default 5)
  --no-save               print results, do not write bench/results/
  --keep                  keep the scratch directory (configs, logs)
  --update-readme         put this run's tables into bench/README.md (default for a full run)
  --render <file.json>    print the Markdown of a saved result (with --update-readme: into the README)
  --profile <dir>         run Weft processes with --cpu-prof, profiles into <dir>
                          (summarize with: node dist/bench/lib/profile-summary.js <file>)
  --weft-node-args <args> Node flags for the Weft processes, to try one (e.g. --weft-node-args=--single-threaded-gc)`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

/** Replace the README's results section (between the markers) with this run's tables. */
function updateReadme(file: string, md: string, jsonPath: string): void {
  const readme = fs.readFileSync(file, 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file}: results markers not found`);
  // Demote the report's headings by one level so they nest under "Current results".
  const body = md.replace(/^(#+) /gm, '#$1 ');
  fs.writeFileSync(file, `${readme.slice(0, a + START.length)}\n${body}\nRaw figures: [${jsonPath}](${jsonPath}).\n${readme.slice(b)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      rows: { type: 'string' },
      proxies: { type: 'string' },
      xds: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      changes: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      profile: { type: 'string' },
      'weft-node-args': { type: 'string' },
      'update-readme': { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.render) {
    const saved = JSON.parse(fs.readFileSync(values.render, 'utf8')) as BenchReport;
    saved.targets = evaluateTargets(saved);
    const md = renderMarkdown(saved);
    console.log(md);
    if (values['update-readme']) updateReadme(path.join(repoRoot, 'bench', 'README.md'), md, path.relative(path.join(repoRoot, 'bench'), path.resolve(values.render)));
    return;
  }
  if (values.only && !['dataplane', 'controlplane'].includes(values.only)) throw new Error(`--only: dataplane or controlplane\n${HELP}`);
  const protocols = (values.xds ?? 'delta,sotw').split(',').map((s) => s.trim()) as XdsProtocol[];
  const badProtocol = protocols.find((p) => !XDS_PROTOCOLS.includes(p));
  if (badProtocol !== undefined) throw new Error(`--xds: ${JSON.stringify(badProtocol)} is not one of ${XDS_PROTOCOLS.join(', ')}\n${HELP}`);
  const quick = values.quick;
  const log = (m: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  await acquireBenchLock(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  // Also on Ctrl-C, which exits without running the finally below.
  if (!values.keep) process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const weftBin = path.join(repoRoot, 'bin', 'weft.js');
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'uncommitted';
  const dirty = git(['status', '--porcelain', '--', 'src', 'bench']) !== '';
  const startedAt = new Date();
  const nodeArgs = [
    ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : []),
    ...(values['weft-node-args']?.split(/\s+/).filter(Boolean) ?? []),
  ];

  const report: BenchReport = {
    date: startedAt.toISOString(),
    commit,
    dirty,
    machine: { ...machineInfo(), node: process.version },
    quick,
    targets: [],
  };
  const t0 = Date.now();
  try {
    if (values.only !== 'controlplane') {
      report.dataplane = await runDataplane({
        dir: path.join(dir, 'dataplane'),
        weftBin,
        nodeArgs,
        rps: 1000,
        seconds: Number(values.seconds ?? (quick ? 5 : 8)),
        warmupSeconds: quick ? 1 : 2,
        rounds: Number(values.rounds ?? (quick ? 1 : 3)),
        wrkSeconds: quick ? 5 : 10,
        wrkConnections: 32,
        openLoopConnections: 32,
        // The h2c, gRPC and TCP rows: shorter rounds keep them to about three minutes in all.
        shortSeconds: quick ? 2 : 3,
        shortWarmupSeconds: 1,
        shortWrkSeconds: quick ? 3 : 4,
        h2Sessions: 4,
        rows: values.rows?.split(',').map((s) => s.trim()),
        log,
      }).catch((e: Error): DataplaneResult | undefined => {
        log(`dataplane failed: ${e.message}`);
        report.errors = [...(report.errors ?? []), `dataplane: ${e.message}`];
        return undefined;
      });
    }
    if (values.only !== 'dataplane') {
      report.controlplane = await runControlplane({
        dir: path.join(dir, 'controlplane'),
        weftBin,
        nodeArgs,
        steps: (values.proxies ?? (quick ? '100,500' : '100,500,1000,2000')).split(',').map(Number),
        protocols,
        services: 1000,
        endpoints: 10_000,
        changes: Number(values.changes ?? (quick ? 3 : 5)),
        log,
      }).catch((e: Error): ControlplaneResult | undefined => {
        log(`controlplane failed: ${e.message}`);
        report.errors = [...(report.errors ?? []), `controlplane: ${e.message}`];
        return undefined;
      });
    }
  } finally {
    if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`scratch directory kept: ${dir}`);
  }
  report.durationSeconds = Math.round((Date.now() - t0) / 1000);
  report.targets = evaluateTargets(report);
  const md = renderMarkdown(report);
  console.log(md);
  if (!values['no-save']) {
    const outDir = path.join(repoRoot, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    // `--rows capture`: results of their own, beside the full runs'.
    const captureOnly = report.dataplane !== undefined && report.dataplane.rows.every((r) => r.group === 'capture');
    const base = `${startedAt.toISOString().slice(0, 10)}-${commit}${dirty ? '-dirty' : ''}${captureOnly ? '-capture' : ''}${quick ? '-quick' : ''}`;
    fs.writeFileSync(path.join(outDir, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, `${base}.md`), md);
    log(`wrote bench/results/${base}.json and .md`);
    const fullRun = !quick && !values.only && !values.rows && !values.proxies && !values.xds && !values.rounds && !values.seconds && !values.changes;
    if (values['update-readme'] || fullRun) {
      updateReadme(path.join(repoRoot, 'bench', 'README.md'), md, `results/${base}.json`);
      log('updated the results in bench/README.md');
    }
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? e);
    process.exit(1);
  },
);
