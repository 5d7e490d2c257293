// On-demand VHDS subscriptions (what envoy.filters.http.on_demand asks for): a request whose host has
// no virtual host in a VHDS route table subscribes to `<route configuration name>/<host>` and waits for
// the control plane's answer. Requests for the same host share one subscription; subscriptions stay
// for the life of their route table, as in Envoy, so later changes to that host arrive by themselves.

/** found: the virtual host is in the table now; missing: the control plane has no such host;
 * rejected: its answer was NACKed; timeout: no answer within ON_DEMAND_TIMEOUT_MS. */
export type OnDemandAnswer = 'found' | 'missing' | 'rejected' | 'timeout';

/** How long a request waits for the control plane. Envoy waits for as long as the stream may idle
 * (5 minutes by default) and then answers 408; a sidecar's callers are better served by failing
 * fast with a retriable 503 while the control plane is away. */
export const ON_DEMAND_TIMEOUT_MS = 5_000;

interface HostRequest {
  /** The resource name that answered it, null when the host does not exist; undefined while pending. */
  answer: string | null | undefined;
  waiters: Array<(a: OnDemandAnswer) => void>;
}

export interface VhdsOnDemandOptions {
  /** Replace the VHDS subscription with these names (route configurations and requested hosts). */
  subscribe(names: string[]): void;
  timeoutMs?: number;
}

export class VhdsOnDemand {
  private namespaces = new Set<string>();
  private readonly hosts = new Map<string, HostRequest>();

  constructor(private readonly o: VhdsOnDemandOptions) {}

  /** Every VHDS name to subscribe to: each VHDS route configuration (Envoy's initial VHDS request) and
   * every host asked for. */
  names(): string[] {
    return [...this.namespaces, ...this.hosts.keys()].sort();
  }

  /** The VHDS route configurations the proxy runs now; hosts of the others are forgotten. */
  setRouteConfigs(names: Iterable<string>): void {
    this.namespaces = new Set(names);
    for (const [name, h] of this.hosts) {
      if (this.namespaces.has(routeConfigOf(name))) continue;
      this.hosts.delete(name);
      settle(h, 'missing');
    }
  }

  /** Ask for the virtual host of `host` in route configuration `routeConfig`. */
  request(routeConfig: string, host: string): Promise<OnDemandAnswer> {
    const name = `${routeConfig}/${host.toLowerCase()}`;
    let h = this.hosts.get(name);
    if (h && h.answer !== undefined) return Promise.resolve(h.answer === null ? 'missing' : 'found');
    if (!h) {
      h = { answer: undefined, waiters: [] };
      this.hosts.set(name, h);
      this.o.subscribe(this.names());
    }
    const pending = h;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.waiters.splice(pending.waiters.indexOf(done), 1);
        resolve('timeout');
      }, this.o.timeoutMs ?? ON_DEMAND_TIMEOUT_MS);
      const done = (a: OnDemandAnswer) => {
        clearTimeout(timer);
        resolve(a);
      };
      pending.waiters.push(done);
    });
  }

  /** A VHDS response answered `name` (a requested host, or an alias of one) with a resource, or with
   * none (the host does not exist). Called after the response was applied. */
  answered(name: string, resource: string | null): void {
    const h = this.hosts.get(name);
    if (!h) return;
    h.answer = resource;
    settle(h, resource === null ? 'missing' : 'found');
  }

  /** A virtual host was removed: the hosts it answered do not exist any more. */
  removed(resource: string): void {
    for (const h of this.hosts.values()) if (h.answer === resource) h.answer = null;
  }

  /** A VHDS response was NACKed: its waiting requests fail now rather than at the timeout. */
  rejected(names: Iterable<string>): void {
    for (const name of names) {
      const h = this.hosts.get(name);
      if (h) settle(h, 'rejected');
    }
  }
}

function routeConfigOf(name: string): string {
  return name.slice(0, name.lastIndexOf('/'));
}

function settle(h: HostRequest, a: OnDemandAnswer): void {
  for (const w of h.waiters.splice(0)) w(a);
}
