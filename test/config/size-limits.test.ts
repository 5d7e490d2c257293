// Issue 8 item 6, the bounds themselves: a file over the size limit is refused before it is read, a
// document over its limit is an error for that document only, and a parse that exhausts the worker's
// heap is an error for that file while the process (and the next parse) carry on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { OffThreadParser } from '../../src/config/parse-off-thread.js';
import { parseConfigFile, parseConfigText } from '../../src/config/parse.js';

const vs = (name: string, note = '') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, annotations: { note: "${note}" } }
spec:
  hosts: [${name}]
  http:
  - route:
    - destination: { host: ${name} }
`;

test('a file over the limit is refused by name, unread', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-limits-'));
  const file = path.join(dir, 'big.yaml');
  fs.writeFileSync(file, vs('a', 'x'.repeat(3000)));
  const r = await parseConfigFile(file, { maxFileBytes: 2048, maxDocumentBytes: 1024 * 1024 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map((e) => [e.code, e.file]), [['WEFT_E_FILE_TOO_LARGE', file]]);
  fs.rmSync(dir, { recursive: true });
});

test('a document over the limit is an error for that document; the others load', () => {
  const text = [vs('a'), vs('b', 'y'.repeat(5000)), vs('c')].join('---\n');
  const r = parseConfigText(text, 'mixed.yaml', { maxDocumentBytes: 4096 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map((e) => [e.code, e.document, e.line]), [['WEFT_E_DOCUMENT_TOO_LARGE', 1, 9]]);
  assert.match(r.errors[0].message, /larger than the limit/);
  assert.deepEqual(r.resources.map((x) => x.metadata.name), ['a', 'c']);
});

test('a parse that runs out of the worker heap is a file error; the parser recovers', async () => {
  const parser = new OffThreadParser({ maxHeapMb: 24 });
  try {
    const huge = Array.from({ length: 30_000 }, (_, i) => vs(`h${i}`)).join('---\n');
    const r = await parser.parse(huge, 'huge.yaml', { maxDocumentBytes: 1 << 30 });
    assert.equal(r.ok, false);
    assert.equal(r.errors[0].code, 'WEFT_E_PARSE_LIMIT');
    assert.equal(r.errors[0].file, 'huge.yaml');
    const ok = await parser.parse(vs('after'), 'small.yaml');
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.resources[0].metadata.name, 'after');
  } finally {
    await parser.close();
  }
});
