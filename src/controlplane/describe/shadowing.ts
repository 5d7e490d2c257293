// VirtualService http rules that can never be chosen: a rule after a catch-all, or a rule whose every
// match is implied by a match of an earlier rule (first match wins, in Istio as in Envoy). Only what is
// easily decidable is claimed: string matches are compared by form (exact, prefix, identical regex),
// never by evaluating regexes, so a false "shadowed" is not reported. Istio's analyzer reports the same
// thing as IST0131 VirtualServiceIneffectiveMatch.
import type { HTTPMatchRequest, StringMatch, VirtualService } from '../../config/types.js';

export interface ShadowedMatch {
  /** The rule that is never reached (spec.http index), and which of its matches (absent: a rule without match). */
  rule: number;
  match?: number;
  /** The earlier rule (and match) that takes its requests. */
  byRule: number;
  byMatch?: number;
  /** `catch-all`: the earlier match takes every request; `covered`: it takes every request this one would. */
  reason: 'catch-all' | 'covered';
  /** spec.http[2].match[0] or spec.http[2]. */
  path: string;
}

type Match = HTTPMatchRequest | undefined;

/** A match that takes every request of every client: no condition beyond `uri: prefix /` (or `.*`). */
export function isCatchAll(m: Match): boolean {
  if (!m) return true;
  const { name: _name, ignoreUriCase: _case, uri, ...rest } = m;
  if (Object.values(rest).some((v) => v !== undefined && !(typeof v === 'object' && Object.keys(v as object).length === 0))) return false;
  return !uri || ('prefix' in uri && uri.prefix === '/') || ('regex' in uri && (uri.regex === '.*' || uri.regex === '/.*'));
}

/** Every value `inner` matches, `outer` matches too (decided by form only). */
function stringImplies(outer: StringMatch | undefined, inner: StringMatch | undefined): boolean {
  if (!outer) return true;
  if (!inner) return false;
  if ('prefix' in outer) return ('prefix' in inner && inner.prefix.startsWith(outer.prefix)) || ('exact' in inner && inner.exact.startsWith(outer.prefix));
  if ('exact' in outer) return 'exact' in inner && inner.exact === outer.exact;
  return 'regex' in inner && inner.regex === outer.regex;
}

type HeaderCondition = StringMatch | { present: true };
function headerImplies(outer: HeaderCondition, inner: HeaderCondition | undefined): boolean {
  if (!inner) return false;
  if ('present' in outer) return true; // any condition on the header means it is present
  if ('present' in inner) return false;
  return stringImplies(outer, inner);
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Does every request (of every client) that `later` matches also match `earlier`? */
export function matchCovers(earlier: Match, later: Match): boolean {
  if (isCatchAll(earlier)) return true;
  if (!earlier || !later) return false;
  const uriCovers = earlier.uri === undefined || (stringImplies(earlier.uri, later.uri) && (!!earlier.ignoreUriCase || !later.ignoreUriCase));
  if (!uriCovers) return false;
  if (!stringImplies(earlier.scheme, later.scheme) || !stringImplies(earlier.method, later.method) || !stringImplies(earlier.authority, later.authority)) return false;
  for (const [k, h] of Object.entries(earlier.headers ?? {})) if (!headerImplies(h, later.headers?.[k])) return false;
  for (const [k, h] of Object.entries(earlier.withoutHeaders ?? {})) if (!sameJson(h, later.withoutHeaders?.[k])) return false;
  for (const [k, q] of Object.entries(earlier.queryParams ?? {})) if (!stringImplies(q, later.queryParams?.[k])) return false;
  if (earlier.port !== undefined && earlier.port !== later.port) return false;
  if (earlier.sourceNamespace !== undefined && earlier.sourceNamespace !== later.sourceNamespace) return false;
  for (const [k, v] of Object.entries(earlier.sourceLabels ?? {})) if (later.sourceLabels?.[k] !== v) return false;
  if (earlier.gateways !== undefined && !sameJson(earlier.gateways, later.gateways)) return false;
  return true;
}

/** The matches of `vs` that no request reaches, each with the earlier match that takes its requests. */
export function shadowedMatches(vs: VirtualService): ShadowedMatch[] {
  const out: ShadowedMatch[] = [];
  const rules = vs.spec.http;
  rules.forEach((rule, i) => {
    const matches: Match[] = rule.match?.length ? rule.match : [undefined];
    matches.forEach((m, j) => {
      for (let e = 0; e < i; e++) {
        const earlier: Match[] = rules[e].match?.length ? rules[e].match! : [undefined];
        const k = earlier.findIndex((em) => matchCovers(em, m));
        if (k < 0) continue;
        const withMatch = rule.match?.length ? { match: j } : {};
        const byMatch = rules[e].match?.length ? { byMatch: k } : {};
        out.push({ rule: i, ...withMatch, byRule: e, ...byMatch, reason: isCatchAll(earlier[k]) ? 'catch-all' : 'covered', path: `spec.http[${i}]${rule.match?.length ? `.match[${j}]` : ''}` });
        return;
      }
    });
  });
  return out;
}

export function shadowMessage(s: ShadowedMatch): string {
  const by = `http[${s.byRule}]${s.byMatch !== undefined ? `.match[${s.byMatch}]` : ''}`;
  const what = `http[${s.rule}]${s.match !== undefined ? `.match[${s.match}]` : ''}`;
  return s.reason === 'catch-all'
    ? `${what} is never used: the earlier rule ${by} matches every request (a catch-all), and the first matching rule wins`
    : `${what} is never used: every request it matches is taken by the earlier ${by}, and the first matching rule wins`;
}
