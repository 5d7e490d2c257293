// Closed-loop maximum throughput with wrk (Debian's `wrk`), in its own process.
import { start } from '../lib/procs.js';

export interface WrkResult {
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** wrk's own (closed-loop, coordinated) latency percentiles, ms, for reference only. */
  p50: number;
  p99: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const lat = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    p50: lat('50'),
    p99: lat('99'),
  };
}

export async function runWrk(
  wrkPath: string,
  opts: {
    port: number;
    host: string;
    connections: number;
    threads: number;
    seconds: number;
    headers?: string[];
    /** Default 127.0.0.1. */
    address?: string;
    /** A command that runs wrk elsewhere (e.g. inside a pod's namespace): `[...wrap, wrk, args]`. */
    wrap?: string[];
  },
): Promise<WrkResult> {
  const [cmd, ...pre] = [...(opts.wrap ?? []), wrkPath];
  const proc = start('wrk', cmd, [
    ...pre,
    '-t',
    String(opts.threads),
    '-c',
    String(opts.connections),
    '-d',
    `${opts.seconds}s`,
    '--latency',
    '-H',
    `Host: ${opts.host}`,
    ...(opts.headers ?? []).flatMap((h) => ['-H', h]),
    `http://${opts.address ?? '127.0.0.1'}:${opts.port}/`,
  ]);
  let out = '';
  proc.child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code = await proc.exited;
  const r = parseWrk(out);
  if (code !== 0 || !Number.isFinite(r.rps)) throw new Error(`wrk failed (${code}):\n${out}\n${proc.tail()}`);
  return r;
}
