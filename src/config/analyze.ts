// Validate files and directories the way the control plane would load them: each file parsed on its
// own, then merged (a resource defined in two files is an error). Backs `weft analyze`.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configResources, mergeConfig } from './config-set.js';
import { compareConfigErrors } from './errors.js';
import { parseConfigFile, readError } from './parse.js';
import { policyWarnings } from './policy-warnings.js';
import { inventoryOf, trafficWarnings, type RegistryData } from './traffic-warnings.js';
import { buildSnapshot } from '../controlplane/model/snapshot.js';
import type { ConfigError, ConfigSet, MeshResource, SkippedResource } from './types.js';

export interface AnalysisReport {
  /** Every file looked at, in order. */
  files: string[];
  errors: ConfigError[];
  /** Valid config that does not do what it says (policy-warnings.ts, traffic-warnings.ts). Each has a
   * `level`; only `error` ones fail the run (istioctl analyze's default failure threshold). */
  warnings: ConfigError[];
  /** Whether a registry was consulted (--control-plane), or only the files. */
  registry: boolean;
  /** The merged valid config (what `weft describe --config-dir` describes). */
  config: ConfigSet;
  skipped: SkippedResource[];
  /** Valid resources, as the control plane would serve them. */
  resources: MeshResource[];
}

const CONFIG_FILE = /\.ya?ml$/i;

/** Files stay as given; directories contribute their `*.yaml`/`*.yml` files (not recursive), sorted. */
export async function expandConfigPaths(paths: readonly string[]): Promise<{ files: string[]; errors: ConfigError[] }> {
  const files: string[] = [];
  const errors: ConfigError[] = [];
  for (const p of paths) {
    try {
      if ((await stat(p)).isDirectory()) {
        const names = (await readdir(p)).filter((n) => CONFIG_FILE.test(n) && !n.startsWith('.')).sort();
        files.push(...names.map((n) => join(p, n)));
      } else files.push(p);
    } catch (e) {
      errors.push(readError(p, e));
    }
  }
  return { files: [...new Set(files)], errors };
}

export interface AnalyzeOptions {
  /** The control plane's registry (its /debug/registryz), for the checks that need to know every service. */
  registry?: RegistryData;
  domain?: string;
}

export async function analyzePaths(paths: readonly string[], opts: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const { files, errors } = await expandConfigPaths(paths);
  const results = await Promise.all(files.map(async (file) => ({ file, result: await parseConfigFile(file) })));
  const skipped: SkippedResource[] = [];
  for (const { result } of results) {
    if (!result.ok) errors.push(...result.errors);
    skipped.push(...result.skipped);
  }
  // Unlike the store (which keeps a broken file's last good version), a file with errors here still
  // contributes its valid documents, so cross-file duplicates among them are reported too.
  const merged = mergeConfig(results.map(({ file, result }) => ({ file, resources: result.resources })));
  errors.push(...merged.errors);
  errors.sort(compareConfigErrors);
  const snap = buildSnapshot({ config: merged.config, proxies: [], domain: opts.domain ?? 'cluster.local' });
  const traffic = trafficWarnings(snap, inventoryOf(snap, opts.registry !== undefined, opts.registry));
  const warnings = [...policyWarnings(merged.config), ...traffic, ...snap.frontEnds.findings].sort(compareConfigErrors);
  return { files, errors, warnings, skipped, resources: configResources(merged.config), registry: opts.registry !== undefined, config: merged.config };
}
