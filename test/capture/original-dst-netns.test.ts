// SO_ORIGINAL_DST on really redirected sockets, IPv4 and IPv6: iptables and ip6tables REDIRECT
// rules in a namespace this test makes send connections for 198.18.0.99:80 and [fd18::99]:443 to a
// listener on 15001; originalDestination() must give back where each was going — on an IPv4
// listener, and on a dual-stack one (IPv4 arrives v4-mapped there).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';

import { TestNet } from '../helpers/netns.js';
import { repoRoot } from '../helpers/paths.js';
import { privilegedSuite } from '../helpers/privileged.js';

const probe = `
import net from 'node:net';
const { originalDestination } = await import(process.argv[1]);
const [host, targets] = [process.argv[2], JSON.parse(process.argv[3])];
const server = net.createServer();
await new Promise((r) => server.listen({ host, port: 15001, ipv6Only: false }, r));
const out = [];
for (const t of targets) {
  const accepted = new Promise((r) => server.once('connection', r));
  const c = net.connect(t.port, t.address);
  const s = await accepted;
  out.push({ local: s.localAddress, dst: originalDestination(s) });
  c.destroy();
  s.destroy();
}
server.close();
console.log(JSON.stringify(out));
`;

privilegedSuite('SO_ORIGINAL_DST after iptables/ip6tables REDIRECT', ['netns', 'iptables', 'ip6tables'], () => {
  let net: TestNet | undefined;
  after(() => net?.destroy());

  test('IPv4 and IPv6 original destinations, on IPv4-only and dual-stack listeners', async () => {
    net = await TestNet.create({ ipv6: true });
    const h = await net.addHost('odst');
    await net.inNs(h.ns, 'iptables-nft', ['-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '198.18.0.99/32', '-j', 'REDIRECT', '--to-ports', '15001']);
    await net.inNs(h.ns, 'ip6tables-nft', ['-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', 'fd18::99/128', '-j', 'REDIRECT', '--to-ports', '15001']);
    const module = path.join(repoRoot, 'dist/src/proxy/listener/original-dst.js');
    const run = async (host: string, targets: object[]) =>
      JSON.parse(await net!.inNs(h.ns, process.execPath, ['--input-type=module', '-e', probe, module, host, JSON.stringify(targets)])) as { local: string; dst: unknown }[];
    const v4 = { address: '198.18.0.99', port: 80 };
    const v6 = { address: 'fd18::99', port: 443 };
    assert.deepEqual(await run('0.0.0.0', [v4]), [{ local: '127.0.0.1', dst: v4 }]);
    const dual = await run('::', [v4, v6]);
    assert.deepEqual(dual.map((d) => d.dst), [v4, v6]);
    assert.equal(dual[0].local, '::ffff:127.0.0.1', 'IPv4 arrived v4-mapped on the dual-stack listener');
  });
});
