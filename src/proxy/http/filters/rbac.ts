// envoy.filters.http.rbac: ask the shared RBAC engine about each request (the route's
// RBACPerRoute, if any, replaces the filter's config). A deny answers 403 `RBAC: access denied`
// with flag RBAC and Envoy's details; shadow rules are evaluated and counted only.
import type { HcmStats } from '../connection-manager.js';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter, type HttpFilterType } from '../filter.js';
import { sendLocalReply } from '../local-reply.js';
import { ResponseFlag } from '../response-flags.js';
import type { HttpStream } from '../stream.js';
import { HTTP_RBAC_PER_ROUTE_TYPE_URL, HTTP_RBAC_TYPE_URL, httpRbacConfig, httpRbacPerRoute, type RbacFilterConfig, type RbacPerRoute } from '../../rbac/filter-config.js';
import type { RbacInput } from '../../rbac/engine.js';
import { streamMetadata } from '../../rbac/metadata.js';

export const RBAC_DENIED_BODY = 'RBAC: access denied';

export const rbacFilterType: HttpFilterType<RbacFilterConfig> = {
  typeUrl: HTTP_RBAC_TYPE_URL,
  parse: httpRbacConfig,
  parsePerRoute: httpRbacPerRoute,
  perRouteTypeUrl: HTTP_RBAC_PER_ROUTE_TYPE_URL,
  create: (name, config, deps) => new RbacFilter(name, config, deps.stats),
};

export class RbacFilter implements HttpFilter {
  constructor(
    readonly name: string,
    private readonly base: RbacFilterConfig,
    private readonly stats: HcmStats,
  ) {}

  onRequest(stream: HttpStream): FilterStatus {
    const perRoute = stream.perFilterConfig<RbacPerRoute>(this.name, HTTP_RBAC_PER_ROUTE_TYPE_URL);
    if (perRoute?.disabled) return CONTINUE;
    const cfg = perRoute?.config ?? this.base;
    const input: RbacInput = { connection: stream.connection, http: stream, metadata: streamMetadata(stream) };
    if (cfg.shadowRules) {
      const shadow = cfg.shadowRules.evaluate(input);
      this.count(`${cfg.shadowRulesStatPrefix}shadow_${shadow.allowed ? 'allowed' : 'denied'}`);
    }
    if (!cfg.rules) return CONTINUE;
    const decision = cfg.rules.evaluate(input);
    this.count(`${cfg.rulesStatPrefix}${decision.allowed ? 'allowed' : 'denied'}`);
    if (decision.allowed) return CONTINUE;
    sendLocalReply(stream, {
      status: 403,
      flag: ResponseFlag.rbacAccessDenied,
      details: `rbac_access_denied_matched_policy[${decision.matchedPolicy ?? 'none'}]`,
      body: RBAC_DENIED_BODY,
    });
    return STOP;
  }

  private count(name: string): void {
    const key = `rbac.${name}` as const;
    this.stats[key] = (this.stats[key] ?? 0) + 1;
  }
}
