// Istio's certificate service (`istio.v1.auth.IstioCertificateService/CreateCertificate`), from the
// small .proto in src/api/proto, loaded with protobufjs like the Envoy API (src/api/envoy.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { StructWire } from './envoy.js';

/** From dist/src/api/ (compiled) or src/api/ (sources) to the repository root. */
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const CA_PROTO_FILE = path.join(repoRoot, 'src/api/proto/istio/v1/auth/ca.proto');

export interface IstioCertificateRequestWire {
  csr: string;
  /** int64 as protobufjs hands it over with `longs: String`. */
  validity_duration: string | number;
  metadata?: StructWire | null;
}

export interface IstioCertificateResponseWire {
  cert_chain: string[];
}

const CA_SERVICE = '/istio.v1.auth.IstioCertificateService';

let service: grpc.ServiceClientConstructor | undefined;
/** The service definition (server side) and client constructor. */
export function istioCertificateService(): grpc.ServiceClientConstructor {
  if (service) return service;
  const root = new protobuf.Root().loadSync(CA_PROTO_FILE, { keepCase: true });
  root.resolveAll();
  const codec = <T>(name: string) => {
    const type = root.lookupType(name);
    return {
      serialize: (value: T) => Buffer.from(type.encode(type.fromObject(value as object)).finish()),
      deserialize: (bytes: Buffer) => type.toObject(type.decode(bytes), { longs: String, defaults: true }) as T,
    };
  };
  const request = codec<IstioCertificateRequestWire>('istio.v1.auth.IstioCertificateRequest');
  const response = codec<IstioCertificateResponseWire>('istio.v1.auth.IstioCertificateResponse');
  service = grpc.makeGenericClientConstructor(
    {
      CreateCertificate: {
        path: `${CA_SERVICE}/CreateCertificate`,
        requestStream: false,
        responseStream: false,
        requestSerialize: request.serialize,
        requestDeserialize: request.deserialize,
        responseSerialize: response.serialize,
        responseDeserialize: response.deserialize,
      },
    },
    'IstioCertificateService',
  );
  return service;
}
