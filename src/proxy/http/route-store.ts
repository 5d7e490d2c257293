// RDS route tables by name. A listener holds a stable slot per name, so an RDS update reaches
// every connection on the next request with no listener churn, and a listener that names a
// route configuration before it arrives simply sees an empty slot (→ 404) until it does.
import type { RouteConfiguration } from '../xds/model.js';
import type { OnDemandAnswer } from '../xds/vhds-on-demand.js';
import { RouteTable } from './route-table.js';

export interface RouteSlot {
  readonly name: string;
  table: RouteTable | undefined;
  /** VHDS: ask the control plane for the virtual host of `host` in this configuration (on-demand). */
  readonly requestVirtualHost?: (host: string) => Promise<OnDemandAnswer>;
}

export interface RouteStoreOptions {
  /** Asks the control plane for one host of a VHDS route configuration (Delta ADS). */
  onDemand?: (routeConfig: string, host: string) => Promise<OnDemandAnswer>;
}

export class RouteStore {
  private readonly slots = new Map<string, RouteSlot>();

  constructor(private readonly o: RouteStoreOptions = {}) {}

  slot(name: string): RouteSlot {
    let s = this.slots.get(name);
    if (!s) {
      const onDemand = this.o.onDemand;
      s = { name, table: undefined, requestVirtualHost: onDemand && ((host) => onDemand(name, host)) };
      this.slots.set(name, s);
    }
    return s;
  }

  /** RDS responses carry the subscribed names that changed: upsert them. */
  apply(configs: readonly RouteConfiguration[]): void {
    for (const c of configs) this.slot(c.name).table = new RouteTable(c);
  }

  /** Drop configurations no listener references any more. */
  retain(names: ReadonlySet<string>): void {
    for (const [name, s] of this.slots) {
      if (!names.has(name)) {
        s.table = undefined;
        this.slots.delete(name);
      }
    }
  }

  get(name: string): RouteTable | undefined {
    return this.slots.get(name)?.table;
  }
}
