// `weft dashboard`: prints the URL, opens it with the machine's opener (a real xdg-open script on
// PATH here, recording what it was given), never fails for want of one, and says so when the
// control plane does not answer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dashboardUrl, findOnPath } from '../../src/cli/dashboard.js';
import { freePorts, spawnWeft, waitFor } from '../helpers/processes.js';

const run = async (args: string[], env: Record<string, string>) => {
  const p = spawnWeft('dashboard', ['dashboard', ...args], env);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
  return { code, out: p.output() };
};

describe('weft dashboard', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  let deadPort: number;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-dashboard-cli-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'empty'));
    fs.writeFileSync(path.join(dir, 'bin/xdg-open'), `#!/bin/sh\necho "$@" > ${path.join(dir, 'opened')}\n`, { mode: 0o755 });
    [port, deadPort] = await freePorts(2);
    server = http.createServer((req, res) => res.writeHead(req.url === '/dashboard' ? 200 : 404).end('ok'));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('URL of the monitor address; an unspecified host becomes loopback', () => {
    assert.equal(dashboardUrl('0.0.0.0:15014'), 'http://127.0.0.1:15014/dashboard');
    assert.equal(dashboardUrl('[::1]:9000'), 'http://[::1]:9000/dashboard');
    assert.throws(() => dashboardUrl('nope'), /expected HOST:PORT/);
  });

  it('finds an opener on PATH only where one is', () => {
    assert.equal(findOnPath(['xdg-open'], path.join(dir, 'bin')), path.join(dir, 'bin/xdg-open'));
    assert.equal(findOnPath(['xdg-open'], path.join(dir, 'empty')), undefined);
  });

  it('prints the URL and opens it with xdg-open', async () => {
    const r = await run(['--monitor-address', `127.0.0.1:${port}`], { PATH: path.join(dir, 'bin') });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^http://127\\.0\\.0\\.1:${port}/dashboard$`, 'm'));
    const opened = await waitFor('xdg-open ran', async () => fs.existsSync(path.join(dir, 'opened')) && fs.readFileSync(path.join(dir, 'opened'), 'utf8'), 5000);
    assert.equal(opened.trim(), `http://127.0.0.1:${port}/dashboard`);
  });

  it('no opener on PATH, or --no-open: the URL only, exit 0', async () => {
    const none = await run(['--monitor-address', `127.0.0.1:${port}`], { PATH: path.join(dir, 'empty') });
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /no browser opener \(xdg-open\) on PATH/);
    const noOpen = await run(['--monitor-address', `127.0.0.1:${port}`, '--no-open'], { PATH: path.join(dir, 'empty') });
    assert.equal(noOpen.code, 0);
    assert.doesNotMatch(noOpen.out, /opener/);
  });

  it('a control plane that does not answer: the URL, the reason, exit 1', async () => {
    const r = await run(['--monitor-address', `127.0.0.1:${deadPort}`, '--no-open'], {});
    assert.equal(r.code, 1);
    assert.match(r.out, /does not answer at http:\/\/127\.0\.0\.1:\d+\/dashboard/);
  });

  it("weft control-plane refuses a --prometheus-url that is not http(s) and a bad --dashboard-scrape-interval", async () => {
    const bad = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--prometheus-url', 'ftp://x', '--dashboard-scrape-interval', 'often']);
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', (c) => resolve(c)));
    assert.equal(code, 2, bad.output());
    assert.match(bad.output(), /--prometheus-url: expected an http\(s\) URL/);
    const badInterval = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--dashboard-scrape-interval', 'often']);
    assert.equal(await new Promise<number | null>((resolve) => badInterval.child.once('exit', (c) => resolve(c))), 2);
    assert.match(badInterval.output(), /--dashboard-scrape-interval: must be a duration/);
  });
});
