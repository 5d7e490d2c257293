// The `capture` group: the cost of each capture mode, every row in the same namespace topology
// (capture-net.ts: a client pod and a server pod per row on one bridge, the load generator and wrk
// inside the client pod, the same nginx app in the server pod). `direct-netns` is the baseline;
// `weft-explicit-netns` is today's `weft` row across namespaces; the iptables and eBPF rows run
// transparent sidecars whose client app calls the server's service VIP by name (Host
// `<service>:8080`) without knowing of the mesh. All Weft rows are plaintext between the sidecars
// (the mTLS rows give TLS's cost) and fed by the same `weft control-plane`, which serves the
// captured layout to the transparent sidecars. `weft cni` applies `weft iptables`' rules, so the
// iptables row stands for it.
import { APP_PORT, statusIn, type CaptureMode, type CaptureNet, type Pod } from './capture-net.js';
import { waitFor, type Started } from '../lib/procs.js';
import type { Context, Running, Topology } from './topologies.js';

/** A port nothing listens on in the client pod (a sidecar needs an app port). */
const CLIENT_APP_PORT = 9090;

const DESCRIPTIONS: Record<CaptureMode, string> = {
  none: 'no proxy, network namespaces: load generator in the client pod → app in the server pod',
  explicit: 'Weft sidecar pair across pods, explicit mode (the client sends to its sidecar 127.0.0.1:15001 with Host), control plane in the hub namespace',
  iptables: 'Weft transparent sidecars (uid 1337) with `weft iptables` capture in both pods; the client calls the service VIP, no proxy awareness',
  ebpf: 'Weft transparent sidecars (uid 1337) with `weft ebpf install` capture (per-pod cgroups, tc inbound on eth0); the client calls the service VIP',
};

const ROW_NAMES: Record<CaptureMode, string> = { none: 'direct-netns', explicit: 'weft-explicit-netns', iptables: 'weft-iptables-netns', ebpf: 'weft-ebpf-netns' };

async function startRow(ctx: Context, mode: CaptureMode): Promise<Running> {
  const cn: CaptureNet = await ctx.captureNet();
  const tag = mode === 'none' ? 'direct' : mode;
  const { client, server } = await cn.pods(tag, mode);
  const all: Started[] = [await cn.backend(server, tag)];
  const appPod = (p: Pod) => ({ ns: p.ns, ...(p.cgroup ? { cgroup: p.cgroup } : {}) });
  if (mode === 'none') {
    return { port: APP_PORT, proxies: [], all, generator: { pod: appPod(client), address: server.host.ip, host: 'app' } };
  }
  const service = `server-${tag}`;
  for (const p of [server, client]) await cn.capture(p, mode);
  const transparent = mode !== 'explicit';
  const srv = await cn.sidecar(server, { name: `${tag}-server-sidecar`, service, appPort: APP_PORT, transparent });
  all.push(srv);
  const cli = await cn.sidecar(client, { name: `${tag}-client-sidecar`, service: `client-${tag}`, appPort: CLIENT_APP_PORT, transparent });
  all.push(cli);
  const generator = transparent
    ? { pod: appPod(client), address: await cn.vip(service), host: `${service}:${APP_PORT}` }
    : { pod: appPod(client), address: '127.0.0.1', host: service };
  const port = transparent ? APP_PORT : 15001;
  // Ready means configured; the route to the new server endpoint may take one more push.
  await waitFor(
    `a 200 through the ${mode} pair (${generator.address}:${port}, Host ${generator.host})`,
    async () => (await statusIn(generator.pod, generator.address, port, '/', generator.host)) === 200,
    20_000,
    cli,
  );
  return { port, proxies: [{ role: 'client', proc: cli }, { role: 'server', proc: srv }], all, generator };
}

const row = (mode: CaptureMode): Topology => ({
  name: ROW_NAMES[mode],
  description: DESCRIPTIONS[mode],
  needs: [],
  group: 'capture',
  baseline: 'direct-netns',
  start: (ctx) => startRow(ctx, mode),
});

/** In table order; the explicit-mode row is what the capture rows are compared with. */
export const CAPTURE_TOPOLOGIES: Topology[] = (['none', 'explicit', 'iptables', 'ebpf'] as const).map(row);
