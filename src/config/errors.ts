// Stable error codes for configuration problems (`weft analyze`, the config store, the control plane's
// status). Codes never change meaning once released; messages may be reworded.
import type { ConfigError } from './types.js';

export const ConfigErrorCodes = {
  WEFT_E_READ_FILE: 'a config file or directory could not be read',
  WEFT_E_YAML_SYNTAX: 'the file is not well-formed YAML (the affected document is ignored)',
  WEFT_E_NOT_A_RESOURCE: 'a YAML document is not a Kubernetes-style object (a mapping with apiVersion, kind, metadata)',
  WEFT_E_API_VERSION: 'the apiVersion of a handled kind is not one Weft understands (networking.istio.io v1, v1beta1, v1alpha3; security.istio.io v1, v1beta1; access.smi-spec.io and specs.smi-spec.io v1alpha4, v1alpha3; telemetry.istio.io v1, v1alpha1)',
  WEFT_E_REQUIRED_FIELD: 'a required field is missing or empty',
  WEFT_E_TYPE: 'a field has the wrong type (for example a string where an integer is expected)',
  WEFT_E_INVALID_VALUE: 'a field has the right type but a value outside what Istio allows (range, enum, format)',
  WEFT_E_UNKNOWN_FIELD: 'a field is not part of the resource schema (Istio CRDs are strict; usually a typo)',
  WEFT_E_DURATION: 'a duration is malformed or out of range (Go/protobuf form such as 500ms, 1.5s, 2m, 1h; at least 1ms)',
  WEFT_E_REGEX: 'a regular expression does not compile or uses features RE2 does not have',
  WEFT_E_WEIGHTS: 'route destination weights are inconsistent (a split whose weights add up to 0)',
  WEFT_E_CONFLICT: 'two fields that exclude each other are both set, or neither of two alternatives is',
  WEFT_E_DUPLICATE_VALUE: 'a value that must be unique within the resource is repeated (subset name, port, host)',
  WEFT_E_DUPLICATE_RESOURCE: 'the same Kind/namespace/name is defined twice; the first definition wins',
  WEFT_E_FILE_TOO_LARGE: 'a config file is larger than the limit on file size; it is not read (its last good version, if any, keeps serving)',
  WEFT_E_DOCUMENT_TOO_LARGE: 'one YAML document of a file is larger than the limit on document size; that document is ignored',
  WEFT_E_PARSE_LIMIT: 'parsing a file ran out of the memory its parser may use, or the parser failed; the file is treated as unreadable',
  WEFT_E_UNSUPPORTED: 'valid Istio configuration that Weft does not implement yet',
  WEFT_E_SMI_NOT_ENFORCED: 'warning (weft analyze): part of an SMI TrafficTarget is left out by the translator (a route or match it names is missing, a UDPRoute rule, a regex that is not an exact, prefix or suffix form): that part allows nothing',
  WEFT_E_TELEMETRY_PROVIDER: 'warning: a Telemetry names a provider the mesh config (extensionProviders, or the built-in envoy and prometheus) does not define, or one of the wrong kind for its use (an access-log provider for tracing); that provider is ignored',
  WEFT_E_ROUTE_CONFLICT: 'warning (weft analyze): configs of two front ends (Istio VirtualService, Gateway API route, SMI TrafficSplit) route the same host for the same callers; the higher-precedence one routes it (VirtualService, then Gateway API, then SMI) and the other is reported here and in /debug/configz',
  WEFT_E_PROXYLESS_ROUTE: 'warning (weft analyze): a VirtualService http route uses what proxyless gRPC clients cannot do (a direct response, a redirect, a query match: the route is not served to them; mirrors, rewrites, header operations: ignored by them; 0 retries: a policy that retries nothing)',
  WEFT_E_HOST_NOT_FOUND: 'analyze: a VirtualService routes (or mirrors) to a host that no service or ServiceEntry declares (Istio IST0101 ReferencedResourceNotFound); an error when the registry is known, a warning offline',
  WEFT_E_SUBSET_NOT_FOUND: 'analyze: a VirtualService routes to a subset that the DestinationRule for its host does not define (Istio IST0101 ReferencedResourceNotFound, an error): requests to it get 503 (NC)',
  WEFT_E_DR_HOST_UNKNOWN: 'warning (analyze): a DestinationRule names a host that no service or ServiceEntry declares (Istio IST0174 UnknownDestinationRuleHost)',
  WEFT_E_DR_NO_WORKLOADS: 'warning (analyze): a DestinationRule host, or one of its subsets, selects no workload (Istio IST0173 DestinationRuleSubsetNotSelectPods for subsets)',
  WEFT_E_DR_CONFLICT: 'warning (analyze): two DestinationRules in one namespace cover the same host for the same workloads; only the first (config order) applies, the other is ignored',
  WEFT_E_RULE_UNREACHABLE: 'warning (analyze): a VirtualService http rule (or one of its matches) can never be chosen: an earlier rule is a catch-all or matches everything it does (Istio IST0131 VirtualServiceIneffectiveMatch)',
  WEFT_E_STRICT_WITHOUT_SIDECAR: 'warning (weft analyze): a STRICT PeerAuthentication selects a workload without a sidecar (a WorkloadEntry or MESH_INTERNAL ServiceEntry endpoint without the security.istio.io/tlsMode=istio label), where STRICT cannot be enforced',
} as const;

export type ConfigErrorCode = keyof typeof ConfigErrorCodes;

export const isConfigErrorCode = (code: string): code is ConfigErrorCode => Object.hasOwn(ConfigErrorCodes, code);

/**
 * One line per error, naming everything a user needs to find it:
 * `bad.yaml: document 2 (line 14): VirtualService default/reviews: spec.http[0].route[1].weight: must be ... [WEFT_E_TYPE]`.
 * Documents are shown 1-based (ConfigError.document is 0-based, like Origin.document; -1 means the
 * whole file).
 */
export function formatConfigError(e: ConfigError): string {
  // document < 0: the error is about the whole file (unreadable, or a duplicate of another file's resource).
  let where = e.document >= 0 ? `${e.file}: document ${e.document + 1}` : e.file;
  if (e.line !== undefined) where += ` (line ${e.line})`;
  const parts = [where];
  if (e.resource) parts.push(e.resource);
  if (e.path) parts.push(e.path);
  return `${parts.join(': ')}: ${e.message} [${e.code}${e.istio ? `; ${e.istio}` : ''}]`;
}

/** Orders errors by file, document, line, path: stable output for the CLI and for change detection. */
export function compareConfigErrors(a: ConfigError, b: ConfigError): number {
  return (
    cmp(a.file, b.file) ||
    a.document - b.document ||
    (a.line ?? 0) - (b.line ?? 0) ||
    cmp(a.path, b.path) ||
    cmp(a.code, b.code) ||
    cmp(a.message, b.message)
  );
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
