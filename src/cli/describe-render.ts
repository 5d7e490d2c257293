// Text for `weft describe`: the JSON answers of src/controlplane/describe rendered for a terminal.
// Pure (golden-tested in test/cli/golden/); the JSON itself is what `-o json` prints.
import type { ServiceDescription } from '../controlplane/describe/describe-service.js';
import type { WorkloadDescription } from '../controlplane/describe/describe-workload.js';
import type { RouteTrace } from '../controlplane/describe/route-trace.js';
import type { WorkloadPolicies } from '../controlplane/describe/workload-policies.js';

const labelText = (l: Record<string, string>): string => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || '(none)';

function policyLines(p: WorkloadPolicies, indent: string): string[] {
  const ports = Object.entries(p.mtls.ports).map(([port, m]) => `port ${port} ${m}`);
  const out = [`${indent}mTLS: ${p.mtls.mode}${ports.length ? ` (${ports.join(', ')})` : ''}${p.mtls.from.length ? ` from PeerAuthentication ${p.mtls.from.join(', ')}` : ' (mesh default)'}`];
  out.push(`${indent}AuthorizationPolicies: ${p.authorization.length ? p.authorization.map((a) => `${a.name} ${a.action} (${a.rules} rule${a.rules === 1 ? '' : 's'})`).join('; ') : 'none (all allowed)'}`);
  out.push(`${indent}RequestAuthentications: ${p.requestAuthentication.length ? p.requestAuthentication.map((r) => `${r.name} (${r.issuers.join(', ')})`).join('; ') : 'none'}`);
  return out;
}

export function renderRouteTrace(t: RouteTrace): string[] {
  const hdrs = Object.entries(t.request.headers).map(([k, v]) => ` ${k}: ${v}`).join('');
  const out = [`Request: ${t.request.method} ${t.request.path} to ${t.request.authority}${hdrs ? ` with${hdrs}` : ''}`, `  as seen by: ${t.client}`];
  for (const n of t.notMatched) out.push(`  not matched: ${n.route} (${n.match})`);
  if (t.route) {
    const rule = t.rule !== undefined ? `http[${t.rule}]${t.match !== undefined ? `.match[${t.match}]` : ''}` : '';
    out.push(`  matched: ${t.virtualService && rule ? `VirtualService ${t.virtualService} ${rule}` : `route ${t.route}`}`);
    out.push(`    because: ${t.matched}`);
  }
  if (t.outcome === 'route') for (const d of t.destinations) out.push(`  → ${d.cluster} ${d.percent}%: ${d.endpoints.length ? d.endpoints.join(', ') : 'no endpoints'}`);
  else if (t.status !== undefined) out.push(`  → ${t.outcome === 'redirect' ? 'redirect' : 'direct response'} ${t.status}`);
  else out.push(`  → ${t.outcome.replaceAll('_', ' ')}`);
  for (const n of t.notes) out.push(`  note: ${n}`);
  return out;
}

export function renderServiceDescription(d: ServiceDescription): string {
  const s = d.service;
  const out = [`Service: ${s.host}`, `  namespace ${s.namespace}, ports ${s.ports.join(', ') || 'none'}, from ${s.origin}${s.external ? ' (external)' : ''}, addresses ${s.addresses.join(', ') || 'none'}`];
  if (!d.registry) out.push('  offline (--config-dir): no registry; only endpoints the files declare are known');
  out.push(`  routes and rules as seen by ${d.client.synthetic ? `a client in namespace ${d.client.namespace} (no --from)` : `${d.client.id} (${labelText(d.client.labels)})`}`);
  out.push('', 'VirtualServices:');
  if (!d.virtualServices.length) out.push('  none: every request goes to all endpoints of the service');
  for (const vs of d.virtualServices) {
    out.push(`  ${vs.name} (${vs.file})${vs.applies ? '' : ` — ${vs.note}`}`);
    for (const r of vs.rules) {
      out.push(`    http[${r.index}]${r.name ? ` "${r.name}"` : ''}: ${r.matches.map((m, j) => (r.matches.length > 1 ? `match[${j}] ${m}` : m)).join(' | ')} → ${r.destinations.join(', ') || '(no route)'}`);
      if (r.extras.length) out.push(`      ${r.extras.join('; ')}`);
    }
  }
  out.push('', 'DestinationRules:');
  if (!d.destinationRules.length) out.push('  none: mesh defaults (auto mTLS, LEAST_REQUEST)');
  for (const dr of d.destinationRules) {
    out.push(`  ${dr.name} (${dr.file})${dr.applies ? '' : ` — ${dr.note}`}`);
    if (dr.trafficPolicy.length) out.push(`    trafficPolicy: ${dr.trafficPolicy.join('; ')}`);
    for (const sub of dr.subsets) out.push(`    subset ${sub.name} (${labelText(sub.labels)}): ${sub.endpoints.length ? sub.endpoints.join(', ') : 'no endpoints'}${sub.trafficPolicy.length ? `; ${sub.trafficPolicy.join('; ')}` : ''}`);
  }
  if (d.serviceEntries.length) out.push('', `ServiceEntries: ${d.serviceEntries.join(', ')}`);
  out.push('', 'Versions:');
  if (!d.versions.length) out.push('  none');
  for (const v of d.versions) out.push(`  ${v.version}: ${v.endpoints.join(', ')}`);
  out.push('', 'Endpoints:');
  if (!d.endpoints.length) out.push('  none');
  for (const e of d.endpoints) out.push(`  ${e.address} port ${e.port} ${e.health}${e.version ? ` version ${e.version}` : ''}${e.identity ? ` mTLS ${e.identity}` : ''}${e.locality ? ` ${e.locality}` : ''} — ${e.workload}`);
  out.push(`  (${d.healthNote})`);
  out.push('', 'Policies:');
  if (!d.policies.length) out.push('  no workloads');
  for (const p of d.policies) out.push(`  ${p.workloads.join(', ')}:`, ...policyLines(p, '    '));
  if (d.warnings.length) out.push('', 'Warnings:', ...d.warnings.map((w) => `  ${w.resource}: ${w.path}: ${w.message}`));
  if (d.route) out.push('', ...renderRouteTrace(d.route));
  return `${out.join('\n')}\n`;
}

export function renderWorkloadDescription(d: WorkloadDescription): string {
  const p = d.proxy;
  const out = [`Workload: ${p.id}`, `  service ${p.service}.${p.namespace}, service account ${p.serviceAccount}, address ${p.address}, capture ${p.interceptionMode}`, `  labels ${labelText(p.labels)}`];
  for (const port of p.ports) out.push(`  port ${port}`);
  out.push('', `Inbound (${d.inbound.service}):`, `  subsets: ${d.inbound.subsets.join(', ') || 'none'}`, ...policyLines(d.inbound.policies, '  '));
  out.push('', 'Outbound (services with rules, as this workload sees them):');
  if (!d.outbound.length) out.push('  none: mesh defaults everywhere');
  for (const o of d.outbound) out.push(`  ${o.service}: ${[o.virtualService ? `VirtualService ${o.virtualService}` : '', o.destinationRule ? `DestinationRule ${o.destinationRule}` : ''].filter(Boolean).join(', ')}`);
  return `${out.join('\n')}\n`;
}
