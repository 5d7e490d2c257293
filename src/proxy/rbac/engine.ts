// One RBAC engine for the HTTP and the network filter (Envoy's filters/common/rbac): compiled once
// from RbacRules, asked per request or per connection. The network filter passes no HTTP part;
// then header matchers see every header absent and url_path never matches, as in Envoy.
import { isIP } from 'node:net';
import type { ConnectionInfo } from '../listener/connection-info.js';
import { compileHeaderMatcher, compileStringMatcher } from '../http/route-table.js';
import type { RequestView } from '../http/stream.js';
import type { Cidr } from '../xds/model.js';
import { ipBytes } from '../xds/validate-matchers.js';
import type { MetadataMatcher, Permission, Principal, RbacAction, RbacRules, ValueMatcher } from './model.js';

/** Dynamic metadata by filter name (the JWT filter writes it; RBAC metadata matchers read it). */
export type DynamicMetadata = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

export interface RbacInput {
  connection: ConnectionInfo;
  /** Absent for the network filter. */
  http?: Pick<RequestView, 'path' | 'header'>;
  metadata?: DynamicMetadata;
}

export interface RbacDecision {
  allowed: boolean;
  /** The first policy (by name) that matched, if any. */
  matchedPolicy: string | undefined;
}

type Check = (input: RbacInput) => boolean;

const noHeaders: Pick<RequestView, 'header'> = { header: () => undefined };

export class RbacEngine {
  readonly action: RbacAction;
  private readonly policies: ReadonlyArray<{ name: string; check: Check }>;

  constructor(rules: RbacRules) {
    this.action = rules.action;
    this.policies = rules.policies.map((pol) => {
      const perms = pol.permissions.map(compilePermission);
      const ids = pol.principals.map(compilePrincipal);
      return { name: pol.name, check: (input: RbacInput) => perms.some((c) => c(input)) && ids.some((c) => c(input)) };
    });
  }

  /** ALLOW: allowed iff a policy matches; DENY: denied iff one does; LOG: always allowed. */
  evaluate(input: RbacInput): RbacDecision {
    const matched = this.policies.find((pol) => pol.check(input))?.name;
    const allowed = this.action === 'ALLOW' ? matched !== undefined : this.action === 'DENY' ? matched === undefined : true;
    return { allowed, matchedPolicy: matched };
  }
}

/** The matchers permissions and principals share. */
function compileCommon(p: Extract<Permission, { kind: 'any' | 'header' | 'url_path' | 'metadata' }>): Check {
  switch (p.kind) {
    case 'any':
      return () => true;
    case 'header':
      return headerCheck(compileHeaderMatcher(p.matcher));
    case 'url_path':
      return pathCheck(compileStringMatcher(p.matcher));
    case 'metadata':
      return metadataCheck(p.matcher);
  }
}

function compilePermission(p: Permission): Check {
  switch (p.kind) {
    case 'and':
    case 'or':
    case 'not':
      return combine(p, compilePermission);
    case 'any':
    case 'header':
    case 'url_path':
    case 'metadata':
      return compileCommon(p);
    case 'destination_ip':
      return cidrCheck(p.cidr, (c) => c.localAddress);
    case 'destination_port': {
      const port = p.port;
      return (i) => i.connection.localPort === port;
    }
    case 'destination_port_range': {
      const { start, end } = p;
      return (i) => i.connection.localPort !== undefined && i.connection.localPort >= start && i.connection.localPort < end;
    }
    case 'requested_server_name': {
      const m = compileStringMatcher(p.matcher);
      // Without TLS there is no SNI: Envoy matches the empty string.
      return (i) => m(i.connection.tls?.sni ?? i.connection.serverName ?? '');
    }
  }
}

function compilePrincipal(p: Principal): Check {
  switch (p.kind) {
    case 'any':
    case 'header':
    case 'url_path':
    case 'metadata':
      return compileCommon(p);
    case 'and':
    case 'or':
    case 'not':
      return combine(p, compilePrincipal);
    case 'authenticated':
      return authenticatedCheck(p.principalName && compileStringMatcher(p.principalName));
    case 'direct_remote_ip':
    case 'remote_ip':
    case 'source_ip':
      // No PROXY protocol and no XFF trust here: all three are the peer's address.
      return cidrCheck(p.cidr, (c) => c.remoteAddress);
  }
}

function combine<T>(node: { kind: 'and' | 'or'; items: T[] } | { kind: 'not'; inner: T }, compile: (n: T) => Check): Check {
  if (node.kind === 'not') {
    const inner = compile(node.inner);
    return (i) => !inner(i);
  }
  const checks = node.items.map(compile);
  return node.kind === 'and' ? (i) => checks.every((c) => c(i)) : (i) => checks.some((c) => c(i));
}

function headerCheck(m: (view: RequestView) => boolean): Check {
  // Header matchers read only header(); the network filter has no headers at all.
  return (i) => m((i.http ?? noHeaders) as RequestView);
}

function pathCheck(m: (v: string) => boolean): Check {
  return (i) => i.http !== undefined && m(i.http.path);
}

/** Envoy: the peer certificate's URI SANs, then its DNS SANs, then its subject; no certificate: no match. */
function authenticatedCheck(m: ((v: string) => boolean) | undefined): Check {
  return ({ connection }) => {
    const tls = connection.tls;
    if (!tls || (tls.peerUriSans.length === 0 && tls.peerDnsSans.length === 0 && !tls.peerSubject)) return false;
    if (!m) return true;
    if (tls.peerUriSans.some(m) || tls.peerDnsSans.some(m)) return true;
    return tls.peerSubject !== '' && m(tls.peerSubject);
  };
}

export function inCidr(c: Cidr, address: string | undefined): boolean {
  if (!address) return false;
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(ip) !== c.family) return false;
  const masked = ipBytes(ip, c.family, c.prefixLen);
  return masked.every((b, k) => b === c.bytes[k]);
}

function cidrCheck(c: Cidr, address: (conn: ConnectionInfo) => string | undefined): Check {
  return (i) => inCidr(c, address(i.connection));
}

function metadataCheck(m: MetadataMatcher): Check {
  const value = compileValue(m.value);
  return (i) => {
    let v: unknown = i.metadata?.get(m.filter);
    for (const key of m.path) v = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
    return value(v) !== m.invert;
  };
}

function compileValue(m: ValueMatcher): (v: unknown) => boolean {
  switch (m.kind) {
    case 'string': {
      const s = compileStringMatcher(m.matcher);
      return (v) => typeof v === 'string' && s(v);
    }
    case 'bool':
      return (v) => v === m.value;
    case 'double_exact':
      return (v) => v === m.value;
    case 'present':
      return (v) => (v !== undefined) === m.present;
    case 'list_one_of': {
      const item = compileValue(m.item);
      return (v) => Array.isArray(v) && v.some(item);
    }
    case 'or': {
      const all = m.matchers.map(compileValue);
      return (v) => all.some((c) => c(v));
    }
  }
}
