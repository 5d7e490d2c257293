// Config in words, for describe's listing of VirtualService rules and DestinationRule policies:
// `uri prefix "/api" and header end-user exact "jason"`, `outlierDetection(5 errors, 30s)`.
import { formatDurationMs as formatDuration } from '../../config/duration.js';
import type { HTTPMatchRequest, HTTPRoute, StringMatch, TrafficPolicy } from '../../config/types.js';

const sm = (m: StringMatch): string => ('exact' in m ? `exact ${JSON.stringify(m.exact)}` : 'prefix' in m ? `prefix ${JSON.stringify(m.prefix)}` : `regex ${JSON.stringify(m.regex)}`);

/** One match of an http rule in words; `*` for a match that takes everything. */
export function matchText(m: HTTPMatchRequest | undefined): string {
  if (!m) return '*';
  const parts: string[] = [];
  if (m.uri) parts.push(`uri ${sm(m.uri)}${m.ignoreUriCase ? ' (any case)' : ''}`);
  if (m.method) parts.push(`method ${sm(m.method)}`);
  if (m.authority) parts.push(`authority ${sm(m.authority)}`);
  if (m.scheme) parts.push(`scheme ${sm(m.scheme)}`);
  for (const [k, h] of Object.entries(m.headers ?? {})) parts.push(`header ${k} ${'present' in h ? 'present' : sm(h)}`);
  for (const [k, h] of Object.entries(m.withoutHeaders ?? {})) parts.push(`without header ${k} ${'present' in h ? 'present' : sm(h)}`);
  for (const [k, q] of Object.entries(m.queryParams ?? {})) parts.push(`query ${k} ${sm(q)}`);
  if (m.port !== undefined) parts.push(`port ${m.port}`);
  if (m.sourceLabels) parts.push(`sourceLabels ${Object.entries(m.sourceLabels).map(([k, v]) => `${k}=${v}`).join(',')}`);
  if (m.sourceNamespace) parts.push(`sourceNamespace ${m.sourceNamespace}`);
  return parts.length ? parts.join(' and ') : '*';
}

/** What a rule does besides routing: fault, retries, timeout, rewrite, mirror, redirect, direct response. */
export function ruleExtras(r: HTTPRoute): string[] {
  const out: string[] = [];
  if (r.fault?.abort) out.push(`fault abort ${r.fault.abort.httpStatus} (${r.fault.abort.percentage?.value ?? 100}%)`);
  if (r.fault?.delay) out.push(`fault delay ${formatDuration(r.fault.delay.fixedDelayMs)} (${r.fault.delay.percentage?.value ?? 100}%)`);
  if (r.retries) out.push(`retries ${r.retries.attempts}${r.retries.perTryTimeoutMs ? ` per try ${formatDuration(r.retries.perTryTimeoutMs)}` : ''}${r.retries.retryOn ? ` on ${r.retries.retryOn}` : ''}`);
  if (r.timeoutMs) out.push(`timeout ${formatDuration(r.timeoutMs)}`);
  if (r.rewrite?.uri !== undefined) out.push(`rewrite uri ${JSON.stringify(r.rewrite.uri)}`);
  if (r.rewrite?.authority !== undefined) out.push(`rewrite authority ${JSON.stringify(r.rewrite.authority)}`);
  for (const m of r.mirrors ?? []) out.push(`mirror ${m.destination.host}${m.destination.subset ? `/${m.destination.subset}` : ''} (${m.percentage?.value ?? 100}%)`);
  if (r.redirect) out.push(`redirect ${r.redirect.redirectCode ?? 301}${r.redirect.uri ? ` to ${r.redirect.uri}` : ''}`);
  if (r.directResponse) out.push(`direct response ${r.directResponse.status}`);
  return out;
}

/** A traffic policy in words, one item per setting. */
export function policyText(p: TrafficPolicy | undefined): string[] {
  if (!p) return [];
  const out: string[] = [];
  if (p.loadBalancer) out.push(`loadBalancer ${p.loadBalancer.simple ?? (p.loadBalancer.consistentHash ? 'consistentHash' : 'default')}`);
  if (p.connectionPool) out.push(`connectionPool ${flat(p.connectionPool)}`);
  if (p.outlierDetection) out.push(`outlierDetection ${flat(p.outlierDetection)}`);
  if (p.tls) out.push(`tls ${p.tls.mode}`);
  if (p.retryBudget) out.push(`retryBudget ${flat(p.retryBudget)}`);
  for (const s of p.portLevelSettings ?? []) out.push(`port ${s.port.number}: ${policyText(s).join(', ')}`);
  return out;
}

/** `{tcp: {maxConnections: 1}}` as `tcp.maxConnections=1`: one line, readable. */
function flat(o: object, prefix = ''): string {
  return Object.entries(o)
    .flatMap(([k, v]) => (v && typeof v === 'object' ? [flat(v as object, `${prefix}${k}.`)] : [`${prefix}${k}=${String(v)}`]))
    .join(' ');
}
