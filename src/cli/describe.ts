// `weft describe service NAME[.NS]` / `weft describe workload PROXY`: asks the running control plane's
// /debug/describe, or, with --config-dir, answers offline from files (no registry then).
import { analyzePaths } from '../config/analyze.js';
import { buildSnapshot } from '../controlplane/model/snapshot.js';
import { answerDescribe, type DescribeAnswer } from '../controlplane/describe/query.js';
import type { ServiceDescription } from '../controlplane/describe/describe-service.js';
import type { WorkloadDescription } from '../controlplane/describe/describe-workload.js';
import { renderServiceDescription, renderWorkloadDescription } from './describe-render.js';

export interface DescribeCliOptions {
  monitorAddress: string;
  configDir?: string;
  namespace?: string;
  path?: string;
  header?: string[];
  method?: string;
  port?: string;
  from?: string;
  output: 'text' | 'json';
}

function queryOf(kind: 'service' | 'workload', name: string, o: DescribeCliOptions): URLSearchParams {
  const q = new URLSearchParams({ [kind]: name });
  if (o.namespace) q.set('namespace', o.namespace);
  if (o.path !== undefined) q.set('path', o.path);
  for (const h of o.header ?? []) q.append('header', h);
  if (o.method) q.set('method', o.method);
  if (o.port) q.set('port', o.port);
  if (o.from) q.set('from', o.from);
  return q;
}

async function ask(q: URLSearchParams, o: DescribeCliOptions): Promise<DescribeAnswer | string> {
  if (o.configDir) {
    const report = await analyzePaths([o.configDir]);
    if (report.errors.length) process.stderr.write(`weft describe: ${report.errors.length} config error${report.errors.length === 1 ? '' : 's'} in ${o.configDir} (weft analyze shows them); describing the valid resources\n`);
    return answerDescribe(buildSnapshot({ config: report.config, proxies: [], domain: 'cluster.local' }), [], q, false);
  }
  const url = `http://${o.monitorAddress}/debug/describe?${q}`;
  try {
    const res = await fetch(url);
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return `cannot read ${url}: ${(err as Error).message} (is the control plane running? --monitor-address, or --config-dir DIR to describe files offline)`;
  }
}

export async function runDescribe(kind: 'service' | 'workload', name: string, o: DescribeCliOptions): Promise<number> {
  const answer = await ask(queryOf(kind, name, o), o);
  if (typeof answer === 'string') {
    process.stderr.write(`weft describe: ${answer}\n`);
    return 2;
  }
  if (answer.status !== 200) {
    process.stderr.write(`weft describe: ${(answer.body as { error?: string }).error ?? `HTTP ${answer.status}`}\n`);
    return 1;
  }
  if (o.output === 'json') process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
  else process.stdout.write(kind === 'service' ? renderServiceDescription(answer.body as ServiceDescription) : renderWorkloadDescription(answer.body as WorkloadDescription));
  return 0;
}
