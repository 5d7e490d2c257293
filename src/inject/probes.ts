// Probe rewriting (Istio's rewriteAppHTTPProbers): under STRICT mTLS the kubelet's plain-text probes
// cannot reach the app through the inbound capture, so each httpGet, tcpSocket or grpc probe of an app
// container becomes an httpGet on the proxy's status port, /app-health/<container>/livez|readyz|startupz,
// and the original goes to the proxy in ISTIO_KUBE_APP_PROBERS (the proxy probes the app on localhost,
// where its own UID is never captured). exec probes need no network and stay as they are.
import type { InjectProblem } from './errors.js';
import type { Container, Probe } from './types.js';

export const STATUS_PORT = 15020;
export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

/** What the proxy does for one rewritten path: a value of the ISTIO_KUBE_APP_PROBERS JSON (the proxy parses it in src/proxy/health/app-prober.ts). */
export type AppProbeSpec =
  | { httpGet: { path: string; port: number; scheme: 'HTTP' | 'HTTPS'; host?: string; httpHeaders?: { name: string; value: string }[] }; timeoutSeconds: number }
  | { tcpSocket: { port: number; host?: string }; timeoutSeconds: number }
  | { grpc: { port: number; service?: string }; timeoutSeconds: number };

const KINDS = [
  ['livenessProbe', 'livez'],
  ['readinessProbe', 'readyz'],
  ['startupProbe', 'startupz'],
] as const;

/** Probe fields that say when and how often, kept on the rewritten probe. */
const TIMING = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'] as const;

/** Rewrite the probes of one app container in place; returns the probers for the proxy. */
export function rewriteProbes(c: Container, field: string, problems: InjectProblem[]): Record<string, AppProbeSpec> {
  const probers: Record<string, AppProbeSpec> = {};
  for (const [key, suffix] of KINDS) {
    const probe = c[key];
    if (!probe) continue;
    const prober = proberOf(probe, c, `${field}.${key}`, problems);
    if (!prober) continue;
    const path = `/app-health/${c.name}/${suffix}`;
    probers[path] = prober;
    const rewritten: Probe = { httpGet: { path, port: STATUS_PORT, scheme: 'HTTP' } };
    for (const t of TIMING) if (probe[t] !== undefined) rewritten[t] = probe[t] as number;
    c[key] = rewritten;
  }
  return probers;
}

function proberOf(p: Probe, c: Container, field: string, problems: InjectProblem[]): AppProbeSpec | undefined {
  const timeoutSeconds = typeof p.timeoutSeconds === 'number' ? p.timeoutSeconds : 1;
  if (p.httpGet) {
    const port = resolvePort(p.httpGet.port, c, `${field}.httpGet.port`, problems);
    if (port === undefined) return undefined;
    const h = p.httpGet;
    return {
      httpGet: { path: h.path || '/', port, scheme: h.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', ...(h.host ? { host: h.host } : {}), ...(h.httpHeaders?.length ? { httpHeaders: h.httpHeaders } : {}) },
      timeoutSeconds,
    };
  }
  if (p.tcpSocket) {
    const port = resolvePort(p.tcpSocket.port, c, `${field}.tcpSocket.port`, problems);
    return port === undefined ? undefined : { tcpSocket: { port, ...(p.tcpSocket.host ? { host: p.tcpSocket.host } : {}) }, timeoutSeconds };
  }
  if (p.grpc) {
    const port = resolvePort(p.grpc.port, c, `${field}.grpc.port`, problems);
    return port === undefined ? undefined : { grpc: { port, ...(p.grpc.service ? { service: p.grpc.service } : {}) }, timeoutSeconds };
  }
  return undefined;
}

/** A probe's port: a number, or the name of one of the container's ports (the kubelet's rule). */
function resolvePort(port: number | string, c: Container, field: string, problems: InjectProblem[]): number | undefined {
  if (typeof port === 'number' || /^\d+$/.test(port)) {
    const n = Number(port);
    if (n >= 1 && n <= 65535) return n;
  } else {
    const named = c.ports?.find((p) => p.name === port);
    if (named) return named.containerPort;
    problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field, message: `names port ${JSON.stringify(port)}, which container ${c.name} does not declare` });
    return undefined;
  }
  problems.push({ code: 'WEFT_E_INJECT_WORKLOAD', field, message: `must be a port 1..65535 or a port name, got ${JSON.stringify(port)}` });
  return undefined;
}
