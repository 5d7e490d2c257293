// A plain @grpc/grpc-js echo service (no xDS, no sidecar) for the proxyless tests: it answers each
// call with its own name, and can fail a share of calls with UNAVAILABLE.
import * as grpc from '@grpc/grpc-js';

export const ECHO_METHOD = '/weft.test.Echo/Call';

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
export const echoService: grpc.ServiceDefinition = {
  Call: {
    path: ECHO_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes.serialize,
    requestDeserialize: bytes.deserialize,
    responseSerialize: bytes.serialize,
    responseDeserialize: bytes.deserialize,
  },
};

export interface EchoServer {
  name: string;
  port: number;
  /** Calls answered (successes and injected failures). */
  calls: number;
  /** Share of calls answered with UNAVAILABLE, decided by a counter (every k-th), not by chance. */
  failEvery?: { fail: number; of: number };
  close(): Promise<void>;
}

export async function startEchoServer(name: string, port: number): Promise<EchoServer> {
  const server = new grpc.Server();
  const echo: EchoServer = {
    name,
    port,
    calls: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(echoService, {
    Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const n = echo.calls++;
      const f = echo.failEvery;
      if (f && n % f.of < f.fail) return cb({ code: grpc.status.UNAVAILABLE, details: `${name} failing on purpose` });
      cb(null, Buffer.from(name));
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return echo;
}
