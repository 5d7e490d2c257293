// The smallest iptables capture a transparent-proxy test needs, applied inside a test host's own
// namespace (never the root namespace's): outbound TCP of every uid but the proxy's → 15001, inbound
// TCP → 15006. Istio's loopback RETURN comes first so the test can reach the proxy's admin port and
// xDS server on 127.0.0.1 inside the namespace. `weft iptables` (src/capture/, another helper's
// work) replaces these once it lands; they die with the namespace (TestNet.destroy()).
import type { TestHost, TestNet } from './netns.js';

export const PROXY_UID = 1337;

export async function applyCaptureRules(net: TestNet, host: TestHost, o: { outboundPort?: number; inboundPort?: number; proxyUid?: number } = {}): Promise<void> {
  const ipt = (args: string[]) => net.inNs(host.ns, 'iptables-nft', ['-w', '-t', 'nat', ...args]);
  await ipt(['-A', 'OUTPUT', '-p', 'tcp', '-d', '127.0.0.1/32', '-j', 'RETURN']);
  await ipt(['-A', 'OUTPUT', '-p', 'tcp', '-m', 'owner', '!', '--uid-owner', String(o.proxyUid ?? PROXY_UID), '-j', 'REDIRECT', '--to-ports', String(o.outboundPort ?? 15001)]);
  await ipt(['-A', 'PREROUTING', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(o.inboundPort ?? 15006)]);
}
