// `weft analyze <paths...>`: print every config problem, then the findings across resources (valid
// config that does not do what it says: `error:`, `warning:` or `info:` by istioctl analyze's levels),
// then a one-line summary. Exit code 1 on any validation error or error-level finding (istioctl's
// default failure threshold); warnings alone exit 0; 2 when the control plane given cannot be read.
import { analyzePaths, type AnalysisReport } from '../config/analyze.js';
import { formatConfigError } from '../config/errors.js';
import type { RegistryData } from '../config/traffic-warnings.js';

export async function runAnalyze(paths: string[], opts: { output?: 'text' | 'json'; controlPlane?: string } = {}): Promise<number> {
  let registry: RegistryData | undefined;
  if (opts.controlPlane) {
    const url = `http://${opts.controlPlane}/debug/registryz`;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      registry = (await res.json()) as RegistryData;
    } catch (err) {
      process.stderr.write(`weft analyze: cannot read ${url}: ${(err as Error).message} (is the control plane running? its --monitor-address)\n`);
      return 2;
    }
  }
  const report = await analyzePaths(paths, registry ? { registry } : {});
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ errors: report.errors, warnings: report.warnings, skipped: report.skipped, resources: report.resources, registry: report.registry }, null, 2)}\n`);
  } else {
    const lines = [...report.errors.map(formatConfigError), ...report.warnings.map((w) => `${w.level ?? 'warning'}: ${formatConfigError(w)}`)];
    lines.push(summary(report));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return failed(report) ? 1 : 0;
}

export const failed = (report: AnalysisReport): boolean => report.errors.length > 0 || report.warnings.some((w) => w.level === 'error');

/** `2 errors in 1 of 3 files; 5 resources valid; skipped: Gateway default/bookinfo-gateway (bookinfo-gateway.yaml)`. */
export function summary(report: AnalysisReport): string {
  const badFiles = new Set(report.errors.map((e) => e.file)).size;
  const n = report.errors.length;
  let s = `${n} error${n === 1 ? '' : 's'} in ${badFiles} of ${report.files.length} file${report.files.length === 1 ? '' : 's'}; `;
  s += `${report.resources.length} resource${report.resources.length === 1 ? '' : 's'} valid`;
  const e = report.warnings.filter((x) => x.level === 'error').length;
  if (e > 0) s += `; ${e} error finding${e === 1 ? '' : 's'}`;
  const w = report.warnings.length - e;
  if (w > 0) s += `; ${w} warning${w === 1 ? '' : 's'}`;
  if (report.skipped.length > 0) {
    // Kinds Weft does not handle yet; `--output json` lists all of them.
    const shown = report.skipped.slice(0, MAX_SKIPPED_SHOWN).map((k) => `${k.kind} ${k.namespace}/${k.name} (${baseName(k.origin.file)})`);
    const more = report.skipped.length - shown.length;
    s += `; skipped: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }
  return s;
}

const MAX_SKIPPED_SHOWN = 20;
const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
