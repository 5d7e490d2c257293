// Plain apps for transparent-capture tests, run as processes inside a test host's namespace. They know
// nothing of the mesh: the server side answers with the peer address it sees (so a test can tell the
// sidecar's 127.0.0.6 from a direct caller), the client side connects where it is told and prints JSON.
//   serve <http-port> <echo-port> <banner-port> [<echo-port>...]  HTTP, TCP echo, server-speaks-first TCP
//   get <url> [<host>]        one HTTP GET (with that Host header) → {status, body}
//   tcp <host> <port> <text>  send text, half-close, read to the end → {reply}
//   banner <host> <port>      read what the server says first → {reply}
//   admin <port> <path>       GET 127.0.0.1:<port><path> → the body
//   grpc-serve <port>         a @grpc/grpc-js server: unary /weft.test.Echo/Say answers "<text> peer=<peer>"
//   grpc-say <host> <port> <text>  one unary call by that name → {reply} or {error}
import http from 'node:http';
import net from 'node:net';

import * as grpc from '@grpc/grpc-js';

const peer = (s: net.Socket) => s.remoteAddress ?? '';
const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);

function serve(httpPort: number, echoPort: number, bannerPort: number, extraEcho: number[]): void {
  let up = 0;
  const ready = () => ++up === 3 + extraEcho.length && console.log('ready');
  http.createServer((req, res) => res.end(JSON.stringify({ app: 'http', peer: peer(req.socket), host: req.headers.host, url: req.url }))).listen(httpPort, '0.0.0.0', ready);
  for (const port of [echoPort, ...extraEcho]) {
    net
      .createServer({ allowHalfOpen: true }, (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => s.end(`echo:${port} peer=${peer(s)} ${Buffer.concat(chunks).toString()}`));
        s.on('error', () => {});
      })
      .listen(port, '0.0.0.0', ready);
  }
  net
    .createServer((s) => {
      s.on('error', () => {});
      s.end(`banner peer=${peer(s)}\n`);
    })
    .listen(bannerPort, '0.0.0.0', ready);
}

/** What the peer sent until it closed; a reset is reported as `error` (a proxy that refuses a
 * connection may close it either way), a silence of 10 s fails. */
function readAll(s: net.Socket): Promise<{ reply: string; error?: string }> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('end', () => resolve({ reply: got }));
    s.on('close', () => resolve({ reply: got }));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve({ reply: got, error: err.code }) : reject(err)));
    s.setTimeout(10_000, () => s.destroy(new Error(`no end after 10 s; got ${JSON.stringify(got)}`)));
  });
}

function get(url: URL, host: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: host ? { host } : {}, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer after 10 s')));
    req.on('error', reject);
  });
}

// A service definition without a .proto: the messages are UTF-8 strings.
const utf8 = { serialize: (s: string) => Buffer.from(s), deserialize: (b: Buffer) => b.toString() };
const ECHO_SERVICE: grpc.ServiceDefinition = {
  Say: { path: '/weft.test.Echo/Say', requestStream: false, responseStream: false, requestSerialize: utf8.serialize, requestDeserialize: utf8.deserialize, responseSerialize: utf8.serialize, responseDeserialize: utf8.deserialize },
};

function grpcServe(port: number): void {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    Say: (call: grpc.ServerUnaryCall<string, string>, done: grpc.sendUnaryData<string>) => done(null, `${call.request} peer=${call.getPeer().replace(/:\d+$/, '')}`),
  });
  server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? process.exit(1) : console.log('ready')));
}

function grpcSay(host: string, port: number, text: string): Promise<{ reply?: string; error?: string }> {
  const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  // No TXT lookup for a service config: a pod here has no DNS server, and grpc-js would wait for it.
  const client = new Client(`${host}:${port}`, grpc.credentials.createInsecure(), { 'grpc.service_config_disable_resolution': 1 }) as unknown as grpc.Client & { Say: (req: string, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: string) => void) => void };
  return new Promise((resolve) =>
    client.Say(text, { deadline: Date.now() + 10_000 }, (err, res) => {
      client.close();
      resolve(err ? { error: `${err.code} ${err.details}` } : { reply: res });
    }),
  );
}

async function main(): Promise<void> {
  const [mode, ...a] = process.argv.slice(2);
  if (mode === 'serve') return serve(Number(a[0]), Number(a[1]), Number(a[2]), a.slice(3).map(Number));
  if (mode === 'get') return print(await get(new URL(a[0]), a[1]));
  if (mode === 'tcp') {
    const s = net.connect({ host: a[0], port: Number(a[1]), allowHalfOpen: true });
    s.once('connect', () => s.end(a[2]));
    return print(await readAll(s));
  }
  if (mode === 'banner') return print(await readAll(net.connect({ host: a[0], port: Number(a[1]) })));
  if (mode === 'grpc-serve') return grpcServe(Number(a[0]));
  if (mode === 'grpc-say') return print(await grpcSay(a[0]!, Number(a[1]), a[2]!));
  if (mode === 'admin') {
    const res = await fetch(`http://127.0.0.1:${a[0]}${a[1]}`, { signal: AbortSignal.timeout(5_000) });
    return void process.stdout.write(await res.text());
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err: Error) => {
  process.stderr.write(`capture-apps: ${err.message}\n`);
  process.exit(1);
});
