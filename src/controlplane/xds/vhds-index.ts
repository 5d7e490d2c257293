// VHDS name resolution. A proxy asks for `<route configuration name>/<host header>` when a request's
// host has no virtual host yet; the answer is the virtual host whose domains match that host the way
// Envoy matches them (exact, then the longest `*suffix`, then the longest `prefix*`, then `*`).
// A request may also name a resource directly (`<route configuration name>/<virtual host name>`), or
// just the route configuration (Envoy's first VHDS request): that is a namespace, whose base set is
// empty here, since a proxy holds only the hosts it calls.
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/vhds

export type VhdsResolution =
  | { kind: 'resource'; name: string }
  | { kind: 'namespace' }
  | { kind: 'missing' };

export interface IndexedVirtualHost {
  /** The resource name, `<route configuration name>/<virtual host name>`. */
  name: string;
  domains: readonly string[];
}

export class VirtualHostIndex {
  private readonly names = new Set<string>();
  private readonly exact = new Map<string, string>();
  private readonly suffixes: { suffix: string; name: string }[] = [];
  private readonly prefixes: { prefix: string; name: string }[] = [];
  private fallback: string | undefined;

  constructor(
    readonly routeConfigName: string,
    vhosts: readonly IndexedVirtualHost[],
  ) {
    for (const vh of vhosts) {
      this.names.add(vh.name);
      for (const raw of vh.domains) {
        const d = raw.toLowerCase();
        if (d === '*') this.fallback ??= vh.name;
        else if (d.startsWith('*')) this.suffixes.push({ suffix: d.slice(1), name: vh.name });
        else if (d.endsWith('*')) this.prefixes.push({ prefix: d.slice(0, -1), name: vh.name });
        else if (!this.exact.has(d)) this.exact.set(d, vh.name);
      }
    }
    // Longest wildcard first; the stable sort keeps config order among equals.
    this.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  resolve(requested: string): VhdsResolution {
    if (requested === this.routeConfigName) return { kind: 'namespace' };
    if (this.names.has(requested)) return { kind: 'resource', name: requested };
    // A host entry cannot contain '/', a route configuration name can: split at the last one.
    const slash = requested.lastIndexOf('/');
    if (slash < 0 || requested.slice(0, slash) !== this.routeConfigName) return { kind: 'missing' };
    const name = this.matchHost(requested.slice(slash + 1).toLowerCase());
    return name === undefined ? { kind: 'missing' } : { kind: 'resource', name };
  }

  private matchHost(host: string): string | undefined {
    if (!host) return undefined;
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    // A wildcard stands for at least one character.
    for (const s of this.suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.name;
    for (const p of this.prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.name;
    return this.fallback;
  }
}
