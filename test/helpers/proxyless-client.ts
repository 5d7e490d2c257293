// A child process running a real proxyless gRPC client (@grpc/grpc-js-xds, bootstrap from
// GRPC_XDS_BOOTSTRAP_CONFIG). It reads one JSON command a line on stdin — {target, calls, metadata?}
// — makes that many unary calls in sequence and prints one JSON line: how many answers came from
// each server (by the name it answers), and how many failed, by gRPC status code name.
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import readline from 'node:readline';
import { ECHO_METHOD } from './grpc-echo.js';

interface Command {
  target: string;
  calls: number;
  metadata?: Record<string, string>;
  deadlineMs?: number;
}

xds.register();
const clients = new Map<string, grpc.Client>();
const clientFor = (target: string) => {
  let c = clients.get(target);
  if (!c) clients.set(target, (c = new grpc.Client(target, grpc.credentials.createInsecure())));
  return c;
};

/** The answering server's name, or `error:<CODE>`; `details` keeps the last error's message. */
function call(c: grpc.Client, md: grpc.Metadata, deadlineMs: number): Promise<{ key: string; details?: string }> {
  return new Promise((resolve) =>
    c.makeUnaryRequest(ECHO_METHOD, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + deadlineMs }, (err, res) =>
      resolve(err ? { key: `error:${grpc.status[err.code ?? grpc.status.UNKNOWN]}`, details: err.details } : { key: res!.toString() }),
    ),
  );
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line) as Command;
  const c = clientFor(cmd.target);
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(cmd.metadata ?? {})) md.set(k, v);
  const counts: Record<string, number> = {};
  let lastError = '';
  for (let i = 0; i < cmd.calls; i++) {
    const r = await call(c, md, cmd.deadlineMs ?? 5000);
    counts[r.key] = (counts[r.key] ?? 0) + 1;
    if (r.details !== undefined) lastError = `${r.key}: ${r.details}`;
  }
  process.stdout.write(JSON.stringify({ counts, lastError }) + '\n');
});
rl.on('close', () => {
  for (const c of clients.values()) c.close();
  process.exit(0);
});
