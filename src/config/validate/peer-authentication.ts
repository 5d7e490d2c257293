// PeerAuthentication (security.istio.io): which mTLS mode a workload's inbound traffic accepts,
// mesh-wide (root namespace), per namespace, per workload (selector) and per port.
import type { MutualTlsMode, PeerAuthenticationSpec } from '../security-types.js';
import { fields, type Fields } from './fields.js';
import type { Issues, Path } from './issues.js';
import { readWorkloadSelector } from './security-common.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

export const PEER_AUTHENTICATION_SPEC = { selector: 'object', mtls: 'object', portLevelMtls: 'object' } as const satisfies SpecShape;
const PA_FIELDS = specFieldNames(PEER_AUTHENTICATION_SPEC);
const MODES: readonly MutualTlsMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

function readMode(f: Fields): { mode: MutualTlsMode } | undefined {
  // `mtls: {}` is mode UNSET (inherit), as the proto default.
  if (!f.has('mode')) return { mode: 'UNSET' };
  const mode = f.oneOf('mode', MODES);
  return mode === undefined ? undefined : { mode };
}

export function validatePeerAuthentication(issues: Issues, spec: unknown, path: Path): PeerAuthenticationSpec | undefined {
  const f = fields(issues, spec, path, PA_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const out: PeerAuthenticationSpec = {};
  const selector = readWorkloadSelector(f);
  if (selector) out.selector = selector;
  const mtls = f.sub('mtls', ['mode']);
  if (mtls) {
    const m = readMode(mtls);
    if (m) out.mtls = m;
  }
  const ports = f.map('portLevelMtls');
  if (ports) {
    // Istio: port-level settings name a workload's ports, so they need a workload to name.
    if (!selector || Object.keys(selector.matchLabels).length === 0) {
      issues.add('WEFT_E_CONFLICT', f.at('portLevelMtls'), 'portLevelMtls applies only with a selector that has matchLabels (ports are a workload\'s ports)');
    }
    if (ports.length === 0) issues.add('WEFT_E_REQUIRED_FIELD', f.at('portLevelMtls'), 'must name at least one port when set');
    const levels: Record<string, { mode: MutualTlsMode }> = {};
    for (const { key, value, path: p } of ports) {
      if (!/^\d+$/.test(key) || Number(key) < 1 || Number(key) > 65535) issues.add('WEFT_E_INVALID_VALUE', p, `port ${JSON.stringify(key)} must be a port number 1..65535`);
      const pf = fields(issues, value, p, ['mode']);
      const m = pf && readMode(pf);
      if (m) levels[String(Number(key))] = m;
    }
    out.portLevelMtls = levels;
  }
  return issues.size === before ? out : undefined;
}
