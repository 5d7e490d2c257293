// The proxy side of probe rewriting (Istio's pilot-agent app prober): the injector moves each app
// probe to /app-health/<container>/<kind> on the status port and hands the original over in
// ISTIO_KUBE_APP_PROBERS; here each such path runs its original probe against the app on localhost
// (the proxy's UID is never captured, and no mTLS stands between). HTTP probes answer with the app's
// own status code, as Istio's do; TCP and gRPC ones with 200 or 500.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';

export type AppProber =
  | { kind: 'http'; path: string; port: number; scheme: 'HTTP' | 'HTTPS'; host: string; headers: Record<string, string>; timeoutMs: number }
  | { kind: 'tcp'; port: number; host: string; timeoutMs: number }
  | { kind: 'grpc'; port: number; service: string; timeoutMs: number };

export type ProberParse = { ok: true; probers: Map<string, AppProber> } | { ok: false; errors: string[] };

const PATH = /^\/app-health\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(livez|readyz|startupz)$/;

/** ISTIO_KUBE_APP_PROBERS: a JSON object from path to {httpGet|tcpSocket|grpc, timeoutSeconds}. */
export function parseAppProbers(json: string): ProberParse {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { ok: false, errors: [`is not JSON: ${(err as Error).message}`] };
  }
  if (!isMap(raw)) return { ok: false, errors: ['must be a JSON object of path -> probe'] };
  const errors: string[] = [];
  const probers = new Map<string, AppProber>();
  for (const [path, v] of Object.entries(raw)) {
    const bad = (m: string) => errors.push(`${path}: ${m}`);
    if (!PATH.test(path)) bad('must be /app-health/<container>/livez|readyz|startupz');
    if (!isMap(v)) {
      bad('must be an object');
      continue;
    }
    const timeoutSeconds = v.timeoutSeconds ?? 1;
    if (typeof timeoutSeconds !== 'number' || !(timeoutSeconds > 0) || timeoutSeconds > 3600) bad('timeoutSeconds must be 1..3600');
    const timeoutMs = Number(timeoutSeconds) * 1000;
    const actions = ['httpGet', 'tcpSocket', 'grpc'].filter((k) => v[k] !== undefined);
    if (actions.length !== 1) {
      bad('must have exactly one of httpGet, tcpSocket, grpc');
      continue;
    }
    const a = v[actions[0]];
    if (!isMap(a) || typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) {
      bad(`${actions[0]}.port must be a port number`);
      continue;
    }
    const host = typeof a.host === 'string' && a.host !== '' ? a.host : '127.0.0.1';
    if (actions[0] === 'httpGet') {
      const headers: Record<string, string> = {};
      for (const h of Array.isArray(a.httpHeaders) ? a.httpHeaders : []) if (isMap(h) && typeof h.name === 'string') headers[h.name.toLowerCase()] = String(h.value ?? '');
      const appPath = typeof a.path === 'string' && a.path.startsWith('/') ? a.path : '/';
      probers.set(path, { kind: 'http', path: appPath, port: a.port, scheme: a.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', host, headers, timeoutMs });
    } else if (actions[0] === 'tcpSocket') probers.set(path, { kind: 'tcp', port: a.port, host, timeoutMs });
    else probers.set(path, { kind: 'grpc', port: a.port, service: typeof a.service === 'string' ? a.service : '', timeoutMs });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, probers };
}

export interface ProbeOutcome {
  status: number;
  detail: string;
}

/** Run one probe against the app; never rejects. */
export function runProbe(p: AppProber): Promise<ProbeOutcome> {
  switch (p.kind) {
    case 'http':
      return httpProbe(p);
    case 'tcp':
      return tcpProbe(p);
    case 'grpc':
      return grpcProbe(p);
  }
}

function httpProbe(p: Extract<AppProber, { kind: 'http' }>): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    // The kubelet does not verify an app's certificate on an HTTPS probe; neither does this.
    const options = { host: p.host, port: p.port, path: p.path, method: 'GET', headers: { 'user-agent': 'kube-probe/weft', ...p.headers }, timeout: p.timeoutMs, rejectUnauthorized: false };
    const req = (p.scheme === 'HTTPS' ? https : http).request(options, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 500, detail: `app answered ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${p.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status: 500, detail: `GET ${p.path} on port ${p.port}: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(p: Extract<AppProber, { kind: 'tcp' }>): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: p.host, port: p.port });
    const done = (o: ProbeOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ status: 500, detail: `no connection to port ${p.port} within ${p.timeoutMs} ms` }), p.timeoutMs);
    socket.once('connect', () => done({ status: 200, detail: `port ${p.port} accepts connections` }));
    socket.once('error', (err) => done({ status: 500, detail: `port ${p.port}: ${err.message}` }));
  });
}

/** grpc.health.v1.Health/Check over cleartext HTTP/2: SERVING (status 1) is healthy. */
function grpcProbe(p: Extract<AppProber, { kind: 'grpc' }>): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    let settled = false;
    const done = (o: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ status: 500, detail: `no gRPC health answer within ${p.timeoutMs} ms` }), p.timeoutMs);
    session.on('error', (err) => done({ status: 500, detail: `gRPC health on port ${p.port}: ${err.message}` }));
    const service = Buffer.from(p.service);
    // HealthCheckRequest{service = 1}: one length-delimited field, inside gRPC's 5-byte frame.
    const message = service.length ? Buffer.concat([Buffer.from([0x0a, service.length]), service]) : Buffer.alloc(0);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    stream.on('response', (headers) => (grpcStatus = headers['grpc-status'] as string | undefined));
    stream.on('trailers', (trailers) => (grpcStatus = (trailers['grpc-status'] as string | undefined) ?? grpcStatus));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => done({ status: 500, detail: `gRPC health on port ${p.port}: ${err.message}` }));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      // HealthCheckResponse{status = 1 (varint)}; SERVING is 1.
      const serving = grpcStatus === '0' && body.length >= 7 && body[5] === 0x08 && body[6] === 1;
      done(serving ? { status: 200, detail: 'SERVING' } : { status: 500, detail: `not SERVING (grpc-status ${grpcStatus ?? 'none'})` });
    });
    stream.end(frame);
  });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
