// A RouteConfiguration compiled once when applied: virtual-host lookup by Host like Envoy
// (exact, then longest `*suffix`, then longest `prefix*`, then `*`), and per-route matchers
// built as small closures so a request never re-parses config.
import type { HeaderMatcher, Route, RouteConfiguration, StringMatcher, VirtualHost, WeightedCluster } from '../xds/model.js';
import { pickIndex } from '../upstream/load-balancer.js';
import type { RequestView } from './stream.js';

type Predicate = (view: RequestView) => boolean;

export function compileStringMatcher(m: StringMatcher): (value: string) => boolean {
  if (m.kind === 'regex') {
    const re = m.regex;
    return (v) => re.test(v);
  }
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (m.kind) {
    case 'exact':
      return (v) => norm(v) === want;
    case 'prefix':
      return (v) => norm(v).startsWith(want);
    case 'suffix':
      return (v) => norm(v).endsWith(want);
    case 'contains':
      return (v) => norm(v).includes(want);
  }
}

/** Only the view's header() is read (access-log header filters use it on a finished request too). */
export function compileHeaderMatcher(m: HeaderMatcher): (view: Pick<RequestView, 'header'>) => boolean {
  const name = m.name;
  const invert = m.invert;
  let test: (value: string) => boolean;
  switch (m.match.kind) {
    case 'present': {
      const present = m.match.present;
      test = () => present;
      break;
    }
    case 'string':
      test = compileStringMatcher(m.match.matcher);
      break;
    case 'range': {
      const { start, end } = m.match;
      test = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
      break;
    }
  }
  const absent: boolean = m.treatMissingAsEmpty
    ? test('') !== invert
    : // An absent header only matches `present_match: false`, or `present_match: true` inverted.
      m.match.kind === 'present' && m.match.present === invert;
  return (view) => {
    const v = view.header(name);
    if (v === undefined) return absent;
    return test(v) !== invert;
  };
}

function compilePath(route: Route): Predicate {
  const { path, caseSensitive } = route.match;
  switch (path.kind) {
    case 'prefix': {
      const p = path.value;
      if (p === '/' || p === '') return () => true;
      return caseSensitive ? (v) => v.url.startsWith(p) : (v) => v.url.toLowerCase().startsWith(p);
    }
    case 'path': {
      const p = path.value;
      return caseSensitive ? (v) => v.path === p : (v) => v.path.toLowerCase() === p;
    }
    case 'separated_prefix': {
      const p = path.value;
      const withSlash = p.endsWith('/') ? p : `${p}/`;
      return (v) => {
        const s = caseSensitive ? v.path : v.path.toLowerCase();
        return s === p || s.startsWith(withSlash);
      };
    }
    case 'regex': {
      const re = path.regex;
      return (v) => re.test(v.path);
    }
  }
}

export class CompiledRoute {
  readonly route: Route;
  private readonly predicates: Predicate[];
  private readonly weighted: WeightedCluster[] | undefined;
  private readonly cumulative: number[] | undefined;
  private readonly total: number;

  constructor(route: Route) {
    this.route = route;
    this.predicates = [compilePath(route), ...route.match.headers.map(compileHeaderMatcher)];
    for (const q of route.match.queryParams) {
      const name = q.name;
      const test = q.matcher ? compileStringMatcher(q.matcher) : () => true;
      this.predicates.push((v) => {
        const value = v.queryParam(name);
        return value !== undefined && test(value);
      });
    }
    const a = route.action;
    if (a.kind === 'route' && a.cluster.kind === 'weighted') {
      this.weighted = a.cluster.clusters.filter((c) => c.weight > 0);
      let sum = 0;
      this.cumulative = this.weighted.map((c) => (sum += c.weight));
      this.total = sum;
    } else {
      this.total = 0;
    }
  }

  matches(view: RequestView): boolean {
    const ps = this.predicates;
    for (let i = 0; i < ps.length; i++) if (!ps[i](view)) return false;
    return true;
  }

  /** The cluster for one request: fixed, or drawn in proportion to the weights. */
  pickCluster(random: () => number): string {
    const a = this.route.action;
    if (a.kind !== 'route') return '';
    if (a.cluster.kind === 'cluster') return a.cluster.name;
    return this.weighted![pickIndex(this.cumulative!, random() * this.total)].name;
  }
}

export class CompiledVirtualHost {
  readonly vhost: VirtualHost;
  readonly routes: CompiledRoute[];
  constructor(vhost: VirtualHost) {
    this.vhost = vhost;
    this.routes = vhost.routes.map((r) => new CompiledRoute(r));
  }
  /** First matching route wins. */
  match(view: RequestView): CompiledRoute | undefined {
    const rs = this.routes;
    for (let i = 0; i < rs.length; i++) if (rs[i].matches(view)) return rs[i];
    return undefined;
  }
}

const HOST_CACHE_LIMIT = 1024;

export class RouteTable {
  readonly config: RouteConfiguration;
  readonly virtualHosts: CompiledVirtualHost[];
  private readonly exact = new Map<string, CompiledVirtualHost>();
  private readonly suffixes: { suffix: string; vh: CompiledVirtualHost }[] = [];
  private readonly prefixes: { prefix: string; vh: CompiledVirtualHost }[] = [];
  private fallback: CompiledVirtualHost | undefined;
  /** Hosts repeat; remember answers (bounded, cleared when full). */
  private readonly cache = new Map<string, CompiledVirtualHost | null>();

  constructor(config: RouteConfiguration) {
    this.config = config;
    this.virtualHosts = config.virtualHosts.map((vh) => new CompiledVirtualHost(vh));
    for (const cvh of this.virtualHosts) {
      for (const raw of cvh.vhost.domains) {
        const d = raw.toLowerCase();
        if (d === '*') this.fallback ??= cvh;
        else if (d.startsWith('*')) this.suffixes.push({ suffix: d.slice(1), vh: cvh });
        else if (d.endsWith('*')) this.prefixes.push({ prefix: d.slice(0, -1), vh: cvh });
        else if (!this.exact.has(d)) this.exact.set(d, cvh);
      }
    }
    // Longest wildcard first (stable sort keeps config order among equals).
    this.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  selectVirtualHost(host: string): CompiledVirtualHost | undefined {
    const cached = this.cache.get(host);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.lookup(host.toLowerCase());
    if (this.cache.size >= HOST_CACHE_LIMIT) this.cache.clear();
    this.cache.set(host, found ?? null);
    return found;
  }

  private lookup(host: string): CompiledVirtualHost | undefined {
    const exact = this.exact.get(host);
    if (exact) return exact;
    // A wildcard stands for at least one character.
    for (const s of this.suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vh;
    for (const p of this.prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vh;
    return this.fallback;
  }
}
