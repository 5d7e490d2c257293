// The HTTP filter types this proxy implements, by type URL, wired explicitly. The xDS edge parses
// http_filters and typed_per_filter_config through these entries (anything else is a NACK unless
// marked optional); the connection manager creates one instance of each for its chain.
import type { HttpFilterType } from '../filter.js';
import { faultFilterType } from './fault.js';
import { jwtAuthnFilterType } from './jwt-authn.js';
import { onDemandFilterType } from './on-demand.js';
import { rbacFilterType } from './rbac.js';
import { routerFilterType } from './router.js';
import { statsFilterType } from './stats.js';

const types: readonly HttpFilterType<any>[] = [faultFilterType, onDemandFilterType, jwtAuthnFilterType, rbacFilterType, statsFilterType, routerFilterType];

export const httpFilterTypes: ReadonlyMap<string, HttpFilterType<unknown>> = new Map(types.map((t) => [t.typeUrl, t]));

/** Per-route config type URLs that are not the filter's own (typed_per_filter_config lookup). */
export const perRouteFilterTypes: ReadonlyMap<string, HttpFilterType<unknown>> = new Map(types.filter((t) => t.perRouteTypeUrl).map((t) => [t.perRouteTypeUrl!, t]));
