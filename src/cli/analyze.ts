// `weft analyze <paths...>`: print every config problem, then the warnings (valid config that does not
// do what it says), then a one-line summary. Exit code 1 on any error; warnings alone exit 0.
import { analyzePaths, type AnalysisReport } from '../config/analyze.js';
import { formatConfigError } from '../config/errors.js';

export async function runAnalyze(paths: string[], opts: { output?: 'text' | 'json' } = {}): Promise<number> {
  const report = await analyzePaths(paths);
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ errors: report.errors, warnings: report.warnings, skipped: report.skipped, resources: report.resources }, null, 2)}\n`);
  } else {
    const lines = [...report.errors.map(formatConfigError), ...report.warnings.map((w) => `warning: ${formatConfigError(w)}`)];
    lines.push(summary(report));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.errors.length > 0 ? 1 : 0;
}

/** `2 errors in 1 of 3 files; 5 resources valid; skipped: Gateway default/bookinfo-gateway (bookinfo-gateway.yaml)`. */
export function summary(report: AnalysisReport): string {
  const badFiles = new Set(report.errors.map((e) => e.file)).size;
  const n = report.errors.length;
  let s = `${n} error${n === 1 ? '' : 's'} in ${badFiles} of ${report.files.length} file${report.files.length === 1 ? '' : 's'}; `;
  s += `${report.resources.length} resource${report.resources.length === 1 ? '' : 's'} valid`;
  const w = report.warnings.length;
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
