// Closed-loop maximum throughput over HTTP/2 with h2load (Debian's `nghttp2-client`), in its own
// process: what wrk is to the HTTP/1.1 rows. For gRPC it sends a prebuilt gRPC frame as the body
// with `content-type: application/grpc` and `te: trailers`.
import fs from 'node:fs';
import path from 'node:path';
import { start } from '../lib/procs.js';
import type { WrkResult } from './wrk.js';

export function parseH2load(out: string, bodyBytes: number): WrkResult {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const done = num(/(\d+) done/);
  const data = num(/\((\d+)\) data/);
  // h2load counts a 200 as success; a gRPC error is a 200 too, but carries no message. Responses
  // short of the expected body are reported with the non-2xx, so a failing row cannot pass unseen.
  const short = Number.isFinite(data) ? Math.max(0, done - Math.floor(data / bodyBytes)) : 0;
  return {
    rps: num(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    requests: done,
    errors: num(/(\d+) errored/) + num(/(\d+) timeout/),
    non2xx: Math.max(num(/(\d+) total, /) - num(/status codes: (\d+) 2xx/), num(/(\d+) failed/)) + short,
    // h2load gives no percentiles; the open loop is the latency figure.
    p50: NaN,
    p99: NaN,
  };
}

export async function runH2load(
  h2loadPath: string,
  opts: { port: number; kind: 'h2c' | 'grpc'; sessions: number; streams: number; seconds: number; dir: string; grpcBody?: Buffer; bodyBytes: number },
): Promise<WrkResult> {
  const args = ['-t', '1', '-c', String(opts.sessions), '-m', String(opts.streams), '-D', String(opts.seconds), '--warm-up-time', '1'];
  if (opts.kind === 'grpc') {
    const file = path.join(opts.dir, 'grpc-request.bin');
    fs.writeFileSync(file, opts.grpcBody ?? Buffer.alloc(0));
    args.push('-d', file, '-H', 'content-type: application/grpc', '-H', 'te: trailers');
  }
  args.push(`http://127.0.0.1:${opts.port}/${opts.kind === 'grpc' ? 'weft.bench.Bench/Unary' : ''}`);
  const proc = start('h2load', h2loadPath, args);
  let out = '';
  proc.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code = await proc.exited;
  const r = parseH2load(out, opts.bodyBytes);
  if (code !== 0 || !Number.isFinite(r.rps)) throw new Error(`h2load failed (${code}):\n${out}\n${proc.tail()}`);
  return r;
}
