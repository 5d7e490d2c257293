// Access-log sinks on a real file system: lines batched per event-loop turn, one file shared by path,
// the buffer bounded with dropped lines counted, and a file that cannot be opened retried on the
// next batch (reopened), its lost lines counted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { AccessLogSinks } from '../../src/proxy/telemetry/access-log/sinks.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-sinks-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('lines written in one turn go out in one write, in order; two loggers naming one path share it', async () => {
  const sinks = new AccessLogSinks();
  const file = path.join(dir, 'a.log');
  const a = sinks.sink(file);
  assert.equal(sinks.sink(file), a);
  for (let i = 0; i < 100; i++) a.write(`line ${i}\n`);
  await sinks.flush();
  assert.equal(fs.readFileSync(file, 'utf8'), Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  assert.equal(sinks.stats.write_buffered, 100);
  assert.equal(sinks.stats.write_completed, 1);
  // Appends, never truncates.
  a.write('more\n');
  await sinks.close();
  assert.ok(fs.readFileSync(file, 'utf8').endsWith('line 99\nmore\n'));
});

test('past the buffer bound, lines are dropped and counted', async () => {
  const sinks = new AccessLogSinks({ maxBufferedBytes: 250 });
  const file = path.join(dir, 'bounded.log');
  const s = sinks.sink(file);
  const line = `${'x'.repeat(99)}\n`;
  for (let i = 0; i < 10; i++) s.write(line);
  assert.equal(sinks.stats.dropped_lines, 8);
  await sinks.close();
  assert.equal(fs.readFileSync(file, 'utf8'), line + line);
});

test('a file that cannot be opened: the batch is lost and counted, and the next batch opens it again', async () => {
  const logs: string[] = [];
  const sinks = new AccessLogSinks({ log: (m) => logs.push(m) });
  const sub = path.join(dir, 'later');
  const file = path.join(sub, 'x.log');
  const s = sinks.sink(file);
  s.write('lost 1\n');
  s.write('lost 2\n');
  await sinks.flush();
  assert.equal(sinks.stats.reopen_failed, 1);
  assert.equal(sinks.stats.write_failed, 1);
  assert.equal(sinks.stats.dropped_lines, 2);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /access log .*x\.log: open failed/);
  fs.mkdirSync(sub);
  s.write('kept\n');
  await sinks.close();
  assert.equal(fs.readFileSync(file, 'utf8'), 'kept\n');
  assert.equal(sinks.stats.write_completed, 1);
});
