// Summarize a V8 .cpuprofile (from `npm run bench -- --profile DIR`): the functions with the most
// self time, and the most inclusive time, as % of samples.
// Usage: node dist/bench/lib/profile-summary.js FILE.cpuprofile [top=25]
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

export function summarizeProfile(file: string, top = 25): string {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const s of prof.samples ?? []) hits.set(s, (hits.get(s) ?? 0) + 1);
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const label = (n: ProfileNode): string => {
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, h] of hits) {
    self.set(label(byId.get(id)!), (self.get(label(byId.get(id)!)) ?? 0) + h);
    // Each function counts once per sample however deep the recursion.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + h);
    }
  }
  const fmt = (m: Map<string, number>): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, h]) => `${((100 * h) / total).toFixed(1).padStart(5)}%  ${l}`);
  return [`${file}: ${total} samples`, '', 'self time:', ...fmt(self), '', 'inclusive time:', ...fmt(incl)].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/lib/profile-summary.js FILE.cpuprofile [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, top ? Number(top) : 25));
}
