// A real OTLP/gRPC logs receiver for tests: LogsService/Export on 127.0.0.1, each request decoded
// with the OTLP message shapes (opentelemetry-proto field numbers; the fields tests read).
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const REQUEST = protobuf.parse(
  `syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message LogRecord { fixed64 time_unix_nano = 1; AnyValue body = 5; repeated KeyValue attributes = 6; }
message ScopeLogs { repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`,
  { keepCase: true },
).root.lookupType('otlp.ExportLogsServiceRequest');

export interface ReceivedLog {
  resource: Record<string, string>;
  body: string;
  attributes: Record<string, string>;
  timeMs: number;
}

type Kv = Array<{ key: string; value?: { string_value?: string } }>;
type Decoded = { resource_logs?: Array<{ resource?: { attributes?: Kv }; scope_logs?: Array<{ log_records?: Array<{ time_unix_nano: number; body?: { string_value?: string }; attributes?: Kv }> }> }> };

const kv = (list: Kv = []) => Object.fromEntries(list.map((a) => [a.key, a.value?.string_value ?? '']));
const raw = (v: Buffer) => v;

export interface OtlpLogsReceiver {
  port: number;
  /** Every record received, in arrival order. */
  records: ReceivedLog[];
  close(): void;
}

export async function startOtlpLogsReceiver(): Promise<OtlpLogsReceiver> {
  const records: ReceivedLog[] = [];
  const server = new grpc.Server();
  const path = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
  server.addService(
    { Export: { path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const req = REQUEST.toObject(REQUEST.decode(call.request), { longs: Number }) as Decoded;
        for (const rl of req.resource_logs ?? []) {
          for (const sl of rl.scope_logs ?? []) {
            for (const r of sl.log_records ?? []) records.push({ resource: kv(rl.resource?.attributes), body: r.body?.string_value ?? '', attributes: kv(r.attributes), timeMs: r.time_unix_nano / 1e6 });
          }
        }
        // An empty ExportLogsServiceResponse.
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, records, close: () => server.forceShutdown() };
}
