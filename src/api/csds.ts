// Envoy's Client Status Discovery Service (envoy.service.status.v3.ClientStatusDiscoveryService): the
// per-client xDS config status a control plane reports. The definition for both ends, on the same
// protobufjs Root as the resources.
import * as grpc from '@grpc/grpc-js';
import { resourceRoot, type NodeWire } from './envoy.js';

const CSDS_SERVICE = '/envoy.service.status.v3.ClientStatusDiscoveryService';

/** envoy.service.status.v3.ConfigStatus */
export type ConfigStatus = 'UNKNOWN' | 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';

export interface StringMatcherWire {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: { regex?: string } | null;
  ignore_case?: boolean;
  match_pattern?: string;
}

export interface ClientStatusRequestWire {
  node_matchers?: Array<{ node_id?: StringMatcherWire | null; node_metadatas?: unknown[] }>;
  node?: NodeWire | null;
  exclude_resource_contents?: boolean;
}

export interface TimestampWire {
  seconds: number | string;
  nanos: number;
}

export interface GenericXdsConfigWire {
  type_url: string;
  name: string;
  version_info: string;
  last_updated?: TimestampWire | null;
  config_status: ConfigStatus;
  error_state?: { details: string; version_info: string; last_update_attempt?: TimestampWire | null } | null;
}

export interface ClientConfigWire {
  node: NodeWire;
  generic_xds_configs: GenericXdsConfigWire[];
}

export interface ClientStatusResponseWire {
  config: ClientConfigWire[];
}

function codec<T>(typeName: string) {
  const type = resourceRoot().lookupType(typeName);
  return {
    serialize: (value: T) => Buffer.from(type.encode(type.fromObject(value as object)).finish()),
    deserialize: (bytes: Buffer) => type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true, oneofs: true }) as T,
  };
}

let csds: grpc.ServiceClientConstructor | undefined;
/** The service definition (server side: `.service`) and client constructor. */
export function clientStatusDiscoveryService(): grpc.ServiceClientConstructor {
  if (!csds) {
    const request = codec<ClientStatusRequestWire>('envoy.service.status.v3.ClientStatusRequest');
    const response = codec<ClientStatusResponseWire>('envoy.service.status.v3.ClientStatusResponse');
    const method = (name: string, stream: boolean) => ({
      path: `${CSDS_SERVICE}/${name}`,
      requestStream: stream,
      responseStream: stream,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
    });
    csds = grpc.makeGenericClientConstructor({ StreamClientStatus: method('StreamClientStatus', true), FetchClientStatus: method('FetchClientStatus', false) }, 'ClientStatusDiscoveryService');
  }
  return csds;
}
