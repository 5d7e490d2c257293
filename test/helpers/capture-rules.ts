// Capture for a transparent-proxy test: the real `weft iptables` (src/capture/), run inside a test
// host's own namespace (never the root namespace's) with its defaults — outbound TCP of every uid but
// the proxy's → 15001, inbound TCP → 15006, the proxy's 127.0.0.6 inbound passthrough and loopback
// left alone. The rules die with the namespace (TestNet.destroy()).
import type { TestHost, TestNet } from './netns.js';
import { weftBin } from './processes.js';

export const PROXY_UID = 1337;

export async function applyCaptureRules(net: TestNet, host: TestHost, extraFlags: string[] = []): Promise<void> {
  await net.inNs(host.ns, process.execPath, [weftBin, 'iptables', '--proxy-uid', String(PROXY_UID), '--proxy-gid', String(PROXY_UID), ...extraFlags]);
}
