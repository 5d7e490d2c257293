// Envoy's v3 xDS API, loaded from the .proto files that @grpc/grpc-js-xds ships.
// Both the control plane and the proxy speak only these messages; nothing here knows Istio.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse } from './discovery-codec.js';

const require = createRequire(import.meta.url);
const xdsPackageDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
export const protoIncludeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  path.join(xdsPackageDir, 'deps', d),
);

export const TypeUrl = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  /** VHDS: only on Delta streams, one resource per virtual host of a RouteConfiguration with `vhds`. */
  virtualHost: 'type.googleapis.com/envoy.config.route.v3.VirtualHost',
} as const;
export type XdsType = keyof typeof TypeUrl;

/** State of the world (DiscoveryRequest/Response) or incremental (Delta*, with VHDS). */
export type XdsProtocol = 'sotw' | 'delta';
export const XDS_PROTOCOLS: readonly XdsProtocol[] = ['delta', 'sotw'];
export type TypeUrlString = (typeof TypeUrl)[XdsType];

export const HCM_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const HTTP_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const ORIGINAL_DST_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst';
export const HTTP_PROTOCOL_OPTIONS_TYPE_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/** The typed_extension_protocol_options key Envoy reads HttpProtocolOptions under. */
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
/** The HCM tracing provider's typed_config (Envoy's OpenTelemetry tracer). */
export const OTEL_TRACER_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
export const ON_DEMAND_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.on_demand.v3.OnDemand';

/** The order in which a push sends types, so a proxy never sees a reference before its target
 * (VHDS virtual hosts after the route configuration that holds them):
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#eventual-consistency-considerations */
export const PUSH_ORDER: readonly XdsType[] = ['cluster', 'endpoint', 'listener', 'route', 'virtualHost', 'secret'];

export function xdsTypeOf(typeUrl: string): XdsType | undefined {
  for (const [k, v] of Object.entries(TypeUrl)) if (v === typeUrl) return k as XdsType;
  return undefined;
}

/** src/api, from the sources or from dist/src/api (the .proto files stay in src/). */
const here = path.dirname(fileURLToPath(import.meta.url));
const srcApiDir = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../../src/api') : here;

const resourceProtoFiles = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  // The HCM's tracing provider (its typed_config is an Any).
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/on_demand/v3/on_demand.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  // Access loggers, the CEL access-log filter and the formatter extension Istio adds.
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/filters/cel/v3/cel.proto',
  'envoy/extensions/formatter/req_without_query/v3/req_without_query.proto',
  // Imports opentelemetry/proto/common/v1/common.proto, found in src/api/proto (see loadRoot).
  'envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto',
  'envoy/service/discovery/v3/discovery.proto',
  // What `weft bootstrap --envoy` prints (checked against Envoy's rules) and the CSDS service.
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/service/status/v3/csds.proto',
  // Istio's stats filter config: Weft's own small .proto (the one non-Envoy type in listeners).
  path.join(srcApiDir, 'proto/istio/stats/plugin_config.proto'),
];

let root: protobuf.Root | undefined;
/** One protobufjs Root with every resource type we encode or decode (loaded once, lazily). */
export function resourceRoot(): protobuf.Root {
  root ??= loadRoot();
  return root;
}
function loadRoot(): protobuf.Root {
  // Envoy's annotations extend google.protobuf.*Options; protobufjs ships descriptor.proto as JSON
  // but does not register it as a common file by itself.
  protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    // Weft's own protos (OpenTelemetry's common types, which the package does not ship) come last.
    for (const dir of [...protoIncludeDirs, path.join(srcApiDir, 'proto')]) {
      const candidate = path.join(dir, target);
      try {
        fs.accessSync(candidate);
        return candidate;
      } catch {
        /* try the next include dir */
      }
    }
    return target;
  };
  r.loadSync(resourceProtoFiles, { keepCase: true });
  r.resolveAll();
  return r;
}

export function messageType(typeUrl: string): protobuf.Type {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return resourceRoot().lookupType(name);
}

/** Wire form of google.protobuf.Any as @grpc/proto-loader hands it over. */
export interface AnyWire {
  type_url: string;
  value: Buffer | Uint8Array;
}

/** Encode a plain object in proto field names (nested Any as {'@type': url, ...fields}) into Any. */
export function packAny(typeUrl: string, body: object): AnyWire {
  // fromObject throws on values it cannot convert; the translator's output shapes are pinned by tests
  // (every emitted resource round-trips through Envoy's messages), so no verify() on the hot path.
  const type = messageType(typeUrl);
  return { type_url: typeUrl, value: type.encode(type.fromObject(body)).finish() };
}

/** Decode an Any into a plain object; nested Any come back as {'@type': url, ...fields}. */
export function unpackAny(any: AnyWire): Record<string, unknown> {
  const type = messageType(any.type_url);
  const message = type.decode(any.value);
  return type.toObject(message, { longs: Number, enums: String, defaults: false, oneofs: false, json: true }) as Record<
    string,
    unknown
  >;
}

const ADS_SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
// The object form gRPC hands to both ends: enums as names, defaults filled in, set oneof named.
const wireObjectOptions: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

function codec<T>(typeName: string): { serialize: (value: T) => Buffer; deserialize: (bytes: Buffer) => T } {
  const type = resourceRoot().lookupType(typeName);
  return {
    serialize: (value) => Buffer.from(type.encode(type.fromObject(value as object)).finish()),
    deserialize: (bytes) => type.toObject(type.decode(bytes), wireObjectOptions) as T,
  };
}

let adsService: grpc.ServiceClientConstructor | undefined;
/** The AggregatedDiscoveryService definition (server side) and client constructor, built on the
 * same protobufjs Root as the resources, so the Envoy protos are parsed once per process. */
export function aggregatedDiscoveryService(): grpc.ServiceClientConstructor {
  if (!adsService) {
    const request = codec<DiscoveryRequestWire>('envoy.service.discovery.v3.DiscoveryRequest');
    const response = codec<DiscoveryResponseWire>('envoy.service.discovery.v3.DiscoveryResponse');
    const deltaRequest = codec<DeltaDiscoveryRequestWire>('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const deltaResponse = codec<DeltaDiscoveryResponseWire>('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    const definition: grpc.ServiceDefinition = {
      StreamAggregatedResources: {
        path: `${ADS_SERVICE}/StreamAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestSerialize: request.serialize,
        requestDeserialize: request.deserialize,
        responseSerialize: encodeDiscoveryResponse,
        responseDeserialize: response.deserialize,
      },
      DeltaAggregatedResources: {
        path: `${ADS_SERVICE}/DeltaAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestSerialize: deltaRequest.serialize,
        requestDeserialize: deltaRequest.deserialize,
        responseSerialize: encodeDeltaDiscoveryResponse,
        responseDeserialize: deltaResponse.deserialize,
      },
    };
    adsService = grpc.makeGenericClientConstructor(definition, 'AggregatedDiscoveryService');
  }
  return adsService;
}

/** google.rpc.Status as carried in DiscoveryRequest.error_detail. */
export interface RpcStatus {
  code: number;
  message: string;
}

/** envoy.config.core.v3.Node, as both ends exchange it (metadata is a google.protobuf.Struct). */
export interface NodeWire {
  id: string;
  cluster: string;
  metadata?: StructWire | null;
  user_agent_name?: string;
  /** The proxy's build version (Envoy's `user_agent_version`): pilot_xds counts proxies by it. */
  user_agent_version?: string;
  /** What the client supports beyond the protocol (gRPC sends `envoy.lb.does_not_support_overprovisioning`). */
  client_features?: string[];
  locality?: { region?: string; zone?: string; sub_zone?: string } | null;
}

export interface DiscoveryRequestWire {
  version_info: string;
  node?: NodeWire | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: RpcStatus | null;
}

export interface DiscoveryResponseWire {
  version_info: string;
  resources: AnyWire[];
  type_url: string;
  nonce: string;
}

/** Delta xDS: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds */
export interface DeltaDiscoveryRequestWire {
  node?: NodeWire | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  /** First request of a type on a stream: what the client already has (name → version). */
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: RpcStatus | null;
}

/** envoy.service.discovery.v3.Resource. Without `resource`, it answers a subscription to a name that
 * does not exist (VHDS: name and aliases set to the requested name). */
export interface ResourceWire {
  name: string;
  version: string;
  aliases: string[];
  resource?: AnyWire | null;
}

export interface DeltaDiscoveryResponseWire {
  /** For debugging only in the protocol; Weft puts the snapshot's version of the type here. */
  system_version_info: string;
  resources: ResourceWire[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

// google.protobuf.Struct in proto-loader's object form. protobufjs defines the well-known Struct and
// Value types itself, with camelCase field names whatever keepCase says.
export interface StructWire {
  fields: Record<string, ValueWire>;
}
export type ValueWire =
  | { kind?: 'nullValue'; nullValue: 'NULL_VALUE' | 0 }
  | { kind?: 'numberValue'; numberValue: number }
  | { kind?: 'stringValue'; stringValue: string }
  | { kind?: 'boolValue'; boolValue: boolean }
  | { kind?: 'structValue'; structValue: StructWire }
  | { kind?: 'listValue'; listValue: { values: ValueWire[] } };

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function toStruct(obj: Record<string, Json>): StructWire {
  const fields: Record<string, ValueWire> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return { fields };
}
function toValue(v: Json): ValueWire {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v) };
}

export function fromStruct(s: StructWire | null | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!s?.fields) return out;
  for (const [k, v] of Object.entries(s.fields)) out[k] = fromValue(v);
  return out;
}
function fromValue(v: ValueWire): Json {
  // proto-loader names the set member in `kind` (oneofs: true); plain objects may omit it.
  const raw = v as Record<string, unknown>;
  const kind = (raw.kind as string | undefined) ?? Object.keys(raw).find((k) => raw[k] !== undefined && raw[k] !== null);
  switch (kind) {
    case 'structValue':
      return fromStruct(raw.structValue as StructWire);
    case 'listValue':
      return ((raw.listValue as { values?: ValueWire[] }).values ?? []).map(fromValue);
    case 'stringValue':
      return String(raw.stringValue);
    case 'numberValue':
      return Number(raw.numberValue);
    case 'boolValue':
      return Boolean(raw.boolValue);
    default:
      return null;
  }
}
