// `weft wait` (the plain sidecar's postStart hook): exits 0 once the URL answers 200, 1 when it does
// not within the timeout, 2 on a bad flag.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { weftBin } from '../helpers/processes.js';

const run = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [weftBin, 'wait', ...args], (err, _out, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }));
    void child;
  });

test('weft wait returns once the URL answers 200 (after it answered 503 a few times)', async () => {
  let asked = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(++asked >= 3 ? 200 : 503);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await run(['--url', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/healthz/ready`, '--timeout', '60s', '--period-ms', '20']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(asked >= 3, `polled ${asked} times`);
  } finally {
    server.close();
  }
});

test('weft wait gives up with exit 1 naming the last answer; a bad flag is exit 2', async () => {
  const server = http.createServer((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await run(['--url', `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, '--timeout', '300ms', '--period-ms', '20']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not answer 200 within 300ms \(last: 503\)/);
  } finally {
    server.close();
  }
  assert.equal((await run(['--timeout', 'soon'])).code, 2);
});
