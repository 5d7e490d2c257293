// A tiny OTLP/HTTP trace receiver for tests: POST /v1/traces with a protobuf
// ExportTraceServiceRequest, decoded with protobufjs from the fields of opentelemetry-proto's
// trace.proto, collector/trace/v1/trace_service.proto and common.proto that spans use (same field
// numbers; unknown fields are skipped by the decoder).
import http from 'node:http';
import protobuf from 'protobufjs';

const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; Status status = 15; fixed32 flags = 16;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
`;

const root = protobuf.parse(OTLP_PROTO, { keepCase: true }).root;
const Request = root.lookupType('otlp.ExportTraceServiceRequest');

export type AttrValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** OTLP's SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  statusCode: number;
  serviceName: string;
}

interface KV {
  key: string;
  value?: { string_value?: string; bool_value?: boolean; int_value?: number | string; double_value?: number };
}

function attrs(list: KV[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.string_value ?? v.bool_value ?? (v.int_value !== undefined ? Number(v.int_value) : (v.double_value ?? ''));
  }
  return out;
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

export interface OtlpReceiver {
  port: number;
  spans: ReceivedSpan[];
  /** Export requests received (each one POST). */
  requests: number;
  close(): Promise<void>;
}

/** Decode one ExportTraceServiceRequest body. */
export function decodeExport(body: Uint8Array): ReceivedSpan[] {
  const msg = Request.toObject(Request.decode(body), { longs: String, bytes: Array, defaults: false }) as {
    resource_spans?: Array<{ resource?: { attributes?: KV[] }; scope_spans?: Array<{ spans?: Array<Record<string, unknown>> }> }>;
  };
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resource_spans ?? []) {
    const serviceName = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.trace_id as Uint8Array),
          spanId: hex(s.span_id as Uint8Array),
          parentSpanId: hex(s.parent_span_id as Uint8Array | undefined),
          traceState: String(s.trace_state ?? ''),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startNs: BigInt(String(s.start_time_unix_nano ?? '0')),
          endNs: BigInt(String(s.end_time_unix_nano ?? '0')),
          attributes: attrs(s.attributes as KV[] | undefined),
          statusCode: Number((s.status as { code?: number } | undefined)?.code ?? 0),
          serviceName,
        });
      }
    }
  }
  return out;
}

export function startOtlpReceiver(port: number): Promise<OtlpReceiver> {
  const r: OtlpReceiver = { port, spans: [], requests: 0, close: () => new Promise<void>((res) => server.close(() => res())) };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(415).end();
        return;
      }
      r.requests++;
      r.spans.push(...decodeExport(Buffer.concat(chunks)));
      // An empty ExportTraceServiceResponse.
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(r));
  });
}
