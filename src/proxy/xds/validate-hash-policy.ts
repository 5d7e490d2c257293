// RouteAction.hash_policy → HashPolicy[] (consistent-hash input). filter_state and header
// regex rewrites would change which key is hashed, and cookie attributes what is sent back: refused.
import type { HashPolicy } from './model.js';
import { durationMs, has, join, list, obj, Problems, str, type Raw } from './validate-common.js';
import { tokenPattern } from '../http1/parser.js';

export function hashPolicies(v: unknown, path: string, p: Problems): HashPolicy[] {
  const out: HashPolicy[] = [];
  list(v).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const raw = obj(item);
    const terminal = raw.terminal === true;
    const kinds = ['header', 'cookie', 'connection_properties', 'query_parameter', 'filter_state'].filter((k) => has(raw, k));
    if (kinds.length !== 1) return p.add(at, 'exactly one of header, cookie, connection_properties, query_parameter is required');
    const kind = kinds[0];
    const o = obj(raw[kind]);
    const policy = one(kind, o, join(at, kind), terminal, p);
    if (policy) out.push(policy);
  });
  return out;
}

function one(kind: string, o: Raw, at: string, terminal: boolean, p: Problems): HashPolicy | undefined {
  switch (kind) {
    case 'header': {
      const name = str(o.header_name).toLowerCase();
      // Pseudo-headers (:authority, :path) are hashable too, as in Envoy.
      if (!name || !tokenPattern.test(name.startsWith(':') ? name.slice(1) : name)) return void p.add(join(at, 'header_name'), `"${name}" is not a header name`);
      if (has(o, 'regex_rewrite')) p.add(join(at, 'regex_rewrite'), 'not supported');
      return { kind: 'header', name, terminal };
    }
    case 'cookie': {
      const name = str(o.name);
      if (!name || !tokenPattern.test(name)) return void p.add(join(at, 'name'), `"${name}" is not a cookie name`);
      if (list(o.attributes).length > 0) p.add(join(at, 'attributes'), 'not supported');
      const path = str(o.path);
      if (/[;\r\n]/.test(path)) p.add(join(at, 'path'), `"${path}" cannot be a cookie path`);
      return { kind: 'cookie', name, ttlMs: durationMs(o.ttl, join(at, 'ttl'), p), path, terminal };
    }
    case 'connection_properties':
      // source_ip: false yields nothing, as in Envoy; keep it out of the list.
      return o.source_ip === true ? { kind: 'source_ip', terminal } : undefined;
    case 'query_parameter': {
      const name = str(o.name);
      if (!name) return void p.add(join(at, 'name'), 'is required');
      return { kind: 'query_parameter', name, terminal };
    }
    default:
      p.add(at, 'not supported');
      return undefined;
  }
}
