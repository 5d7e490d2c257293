// VirtualService HTTPMatchRequest: which requests an HTTP route applies to.
import type { HTTPMatchRequest, StringMatch } from '../types.js';
import { headerNameProblem, isDns1123Label, readLabels, readPort, readStringMatch } from './common.js';
import { fields, setEntry, type Fields } from './fields.js';
import type { Issues, Path } from './issues.js';

const MATCH_FIELDS = [
  'name',
  'uri',
  'scheme',
  'method',
  'authority',
  'headers',
  'withoutHeaders',
  'queryParams',
  'port',
  'sourceLabels',
  'sourceNamespace',
  'gateways',
  'ignoreUriCase',
  'statPrefix', // accepted, not used by Weft
] as const;

export function readHttpMatch(issues: Issues, v: unknown, path: Path): HTTPMatchRequest | undefined {
  const f = fields(issues, v, path, MATCH_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const m: HTTPMatchRequest = {};

  const name = f.str('name');
  if (name !== undefined) m.name = name;
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
    if (!f.has(key)) continue;
    const sm = readStringMatch(issues, f.raw(key), f.at(key));
    if (sm && !('present' in sm)) m[key] = sm;
  }
  const headers = readHeaderMatches(f, 'headers');
  if (headers) m.headers = headers;
  const without = readHeaderMatches(f, 'withoutHeaders');
  if (without) m.withoutHeaders = without;

  const qp = f.map('queryParams');
  if (qp) {
    const out: Record<string, StringMatch> = {};
    for (const { key, value, path: p } of qp) {
      if (key === '') issues.add('WEFT_E_INVALID_VALUE', p, 'query parameter name cannot be empty');
      const sm = readStringMatch(issues, value, p);
      if (sm && !('present' in sm)) setEntry(out, key, sm);
    }
    m.queryParams = out;
  }

  const port = readPort(f, 'port');
  if (port !== undefined) m.port = port;
  const sourceLabels = readLabels(f, 'sourceLabels');
  if (sourceLabels) m.sourceLabels = sourceLabels;
  const sourceNamespace = f.str('sourceNamespace');
  if (sourceNamespace !== undefined) {
    if (!isDns1123Label(sourceNamespace)) issues.add('WEFT_E_INVALID_VALUE', f.at('sourceNamespace'), `invalid namespace ${JSON.stringify(sourceNamespace)}`);
    else m.sourceNamespace = sourceNamespace;
  }
  const gateways = f.strList('gateways');
  if (gateways) m.gateways = gateways;
  const ignoreUriCase = f.bool('ignoreUriCase');
  if (ignoreUriCase !== undefined) m.ignoreUriCase = ignoreUriCase;
  f.str('statPrefix');

  return issues.size === before ? m : undefined;
}

function readHeaderMatches(f: Fields, key: 'headers' | 'withoutHeaders'): Record<string, StringMatch | { present: true }> | undefined {
  const entries = f.map(key);
  if (!entries) return undefined;
  const out: Record<string, StringMatch | { present: true }> = {};
  for (const { key: name, value, path } of entries) {
    const problem = headerNameProblem(name);
    if (problem) f.issues.add('WEFT_E_INVALID_VALUE', path, problem);
    const sm = readStringMatch(f.issues, value, path, { allowPresence: true });
    if (sm) setEntry(out, name, sm);
  }
  return out;
}
