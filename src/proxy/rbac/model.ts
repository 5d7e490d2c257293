// The typed model of Envoy's config.rbac.v3.RBAC, shared by the HTTP and the network RBAC filter
// (Envoy's filters/common/rbac): a policy matches when any of its permissions and any of its
// principals match. Parsed once at the xDS edge (parse.ts), evaluated per request (engine.ts).
import type { Cidr, HeaderMatcher, StringMatcher } from '../xds/model.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** type.matcher.v3.ValueMatcher, the part RBAC metadata matchers use. */
export type ValueMatcher =
  | { kind: 'string'; matcher: StringMatcher }
  | { kind: 'bool'; value: boolean }
  | { kind: 'double_exact'; value: number }
  | { kind: 'present'; present: boolean }
  | { kind: 'list_one_of'; item: ValueMatcher }
  | { kind: 'or'; matchers: ValueMatcher[] };

/** type.matcher.v3.MetadataMatcher: the value at `path` inside the dynamic metadata of `filter`. */
export interface MetadataMatcher {
  filter: string;
  path: string[];
  value: ValueMatcher;
  invert: boolean;
}

/** Permissions and principals share combinators (and_rules/and_ids, …) in one shape. */
export type Permission =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; items: Permission[] }
  | { kind: 'not'; inner: Permission }
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher }
  | { kind: 'destination_ip'; cidr: Cidr }
  | { kind: 'destination_port'; port: number }
  | { kind: 'destination_port_range'; start: number; end: number }
  | { kind: 'requested_server_name'; matcher: StringMatcher }
  | { kind: 'metadata'; matcher: MetadataMatcher };

export type Principal =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; items: Principal[] }
  | { kind: 'not'; inner: Principal }
  /** principalName absent: any peer that presented a certificate. */
  | { kind: 'authenticated'; principalName: StringMatcher | undefined }
  | { kind: 'direct_remote_ip'; cidr: Cidr }
  | { kind: 'remote_ip'; cidr: Cidr }
  | { kind: 'source_ip'; cidr: Cidr }
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher }
  | { kind: 'metadata'; matcher: MetadataMatcher };

export interface RbacPolicy {
  name: string;
  permissions: Permission[];
  principals: Principal[];
}

/** rules absent from a filter config: Envoy allows everything (the filter is a no-op). */
export interface RbacRules {
  action: RbacAction;
  /** Sorted by name: Envoy keeps policies in an ordered map, so the first match is by name. */
  policies: RbacPolicy[];
}
