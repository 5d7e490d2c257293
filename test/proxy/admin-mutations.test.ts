// Issue 8 item 7: a web page must not be able to shut a sidecar down through its admin port. The
// requests are the ones a browser sends (a form POST from a foreign page, a no-cors fetch, a page on
// a re-bound host name, a link), written byte for byte on a socket to a real `weft proxy` process.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { freePorts, spawnWeft, waitFor, type Proc } from '../helpers/processes.js';

let proxy: Proc;
let admin = 0;

before(async () => {
  // No control plane: the admin port is up from the start, which is all this test needs.
  const [xds, outbound, inbound, adminPort, app] = await freePorts(5);
  admin = adminPort;
  proxy = spawnWeft('proxy', [
    'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', 'reviews', '--app-port', String(app),
    '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
  ]);
  await waitFor('admin port', async () => (await fetch(`http://127.0.0.1:${admin}/`)).ok, 10_000, [proxy]);
});

after(() => proxy.stop());

/** One raw HTTP/1.1 exchange; resolves with the status line's code. */
function raw(head: string, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(admin, '127.0.0.1');
    let got = '';
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    s.on('error', reject);
    s.end(`${head.replace(/\n/g, '\r\n')}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

const alive = () => proxy.child.exitCode === null && proxy.child.signalCode === null;

test('browser-like cross-origin requests to POST /quitquitquit are refused and the sidecar keeps running', async () => {
  const attacks: Array<{ name: string; head: string; body?: string; want: number }> = [
    {
      name: 'form POST from a foreign page (the issue)',
      head: `POST /quitquitquit HTTP/1.1\nHost: 127.0.0.1:${admin}\nOrigin: http://evil.example\nReferer: http://evil.example/\nContent-Type: application/x-www-form-urlencoded\nSec-Fetch-Site: cross-site\nSec-Fetch-Mode: navigate\n`,
      body: 'x=1',
      want: 403,
    },
    {
      name: 'no-cors fetch with text/plain',
      head: `POST /quitquitquit HTTP/1.1\nHost: localhost:${admin}\nOrigin: https://evil.example\nContent-Type: text/plain;charset=UTF-8\n`,
      body: 'bye',
      want: 403,
    },
    {
      name: 'DNS rebinding: the page is same-origin with a name that resolves to 127.0.0.1',
      head: `POST /quitquitquit HTTP/1.1\nHost: rebind.evil.example:${admin}\nOrigin: http://rebind.evil.example:${admin}\nContent-Type: application/json\n`,
      want: 403,
    },
    { name: 'multipart form without an Origin (old browsers)', head: `POST /quitquitquit HTTP/1.1\nHost: 127.0.0.1:${admin}\nContent-Type: multipart/form-data; boundary=x\n`, body: '--x--', want: 403 },
    { name: 'Origin null (sandboxed iframe)', head: `POST /quitquitquit HTTP/1.1\nHost: 127.0.0.1:${admin}\nOrigin: null\n`, want: 403 },
    { name: 'a link or <img> (GET)', head: `GET /quitquitquit HTTP/1.1\nHost: 127.0.0.1:${admin}\n`, want: 405 },
  ];
  for (const a of attacks) {
    const status = await raw(a.head, a.body);
    assert.equal(status, a.want, a.name);
  }
  await new Promise((r) => setTimeout(r, 300)); // a shutdown would have started by now
  assert.ok(alive(), `the sidecar is still running after ${attacks.length} attacks`);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/stats`)).status, 200, 'and its admin still answers');
});

test('POST /logging: a foreign page cannot change log levels, a local tool can; GET is refused', async () => {
  const foreign = await raw(`POST /logging?level=trace HTTP/1.1\nHost: 127.0.0.1:${admin}\nOrigin: http://evil.example\nContent-Type: text/plain\n`);
  assert.equal(foreign, 403);
  assert.equal(await raw(`GET /logging?level=trace HTTP/1.1\nHost: 127.0.0.1:${admin}\n`), 405);
  const levels = await (await fetch(`http://127.0.0.1:${admin}/logging`, { method: 'POST' })).text();
  assert.match(levels, /^ {2}http: info$/m, 'unchanged by the refused requests');
  const set = await fetch(`http://127.0.0.1:${admin}/logging?upstream=debug`, { method: 'POST' });
  assert.equal(set.status, 200);
  assert.match(await set.text(), /^ {2}upstream: debug$/m);
  const bad = await fetch(`http://127.0.0.1:${admin}/logging?nosuch=debug`, { method: 'POST' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /nosuch: unknown logger/);
});

test('a local tool (curl -X POST) still shuts it down', async () => {
  const status = await raw(`POST /quitquitquit HTTP/1.1\nHost: 127.0.0.1:${admin}\nUser-Agent: curl/8.5.0\nAccept: */*\n`);
  assert.equal(status, 200);
  await waitFor('the sidecar to exit', async () => !alive(), 10_000, [proxy]);
  assert.equal(proxy.child.exitCode, 0);
});
