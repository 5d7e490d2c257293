// The privileged test topology itself: two hosts reach each other over the hub's bridge, resolve names
// from their own hosts file, and nothing of the net is left after destroy().
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';

import { TestNet } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';

privilegedSuite('test network namespaces', ['netns'], () => {
  let net: TestNet | undefined;
  after(() => net?.destroy());

  test('hosts talk over the bridge by name, and destroy removes every namespace', async () => {
    net = await TestNet.create();
    const a = await net.addHost('a');
    const b = await net.addHost('b');
    net.writeHosts(a, { 'server.test': b.ip });
    const server = net.spawnIn(b, process.execPath, ['-e', `require('net').createServer((s) => s.end('hi from b')).listen(7000, '${b.ip}', () => console.log('up'))`]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const script = `const dns=require('dns');dns.lookup('server.test',(e,ip)=>{if(e)throw e;const s=require('net').connect(7000,ip);let d='';s.on('data',(c)=>d+=c);s.on('end',()=>console.log(ip+' '+d))})`;
    const out = await net.inNs(a.ns, process.execPath, ['-e', script]);
    assert.equal(out.trim(), `${b.ip} hi from b`);
    const names = [a.ns, b.ns, net.hub];
    await net.destroy();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) assert.ok(!left.includes(n), `${n} left behind`);
  });
});
