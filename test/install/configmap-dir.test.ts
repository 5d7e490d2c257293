// The control plane's config in a cluster is a ConfigMap mounted as --config-dir. The kubelet writes
// such a volume as its atomic writer does: the keys are symlinks into `..data`, itself a symlink to a
// timestamped dir that an update replaces with one rename. The file store must read the keys through
// those links, ignore the `..` internals, and see an update.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileConfigStore } from '../../src/controlplane/store/file.js';
import { waitFor } from '../helpers/processes.js';

const virtualService = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: ${subset}}
`;

/** One kubelet update: a new timestamped dir, `..data` swung to it by a rename, the old one removed. */
function writeConfigMapVolume(dir: string, generation: number, data: Record<string, string>): void {
  const ts = `..2026_12_02_00_00_0${generation}.${process.pid}`;
  fs.mkdirSync(path.join(dir, ts));
  for (const [key, text] of Object.entries(data)) fs.writeFileSync(path.join(dir, ts, key), text);
  const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
  fs.symlinkSync(ts, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const key of Object.keys(data)) if (!fs.existsSync(path.join(dir, key))) fs.symlinkSync(path.join('..data', key), path.join(dir, key));
  if (old) fs.rmSync(path.join(dir, old), { recursive: true });
}

test('a ConfigMap volume as --config-dir: keys read through the links, an update seen', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-configmap-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeConfigMapVolume(dir, 1, { 'reviews.yaml': virtualService('v1') });
  const store = new FileConfigStore({ dir, pollMs: 200 });
  t.after(() => store.close());
  await store.start();
  const subset = () => store.current().config.virtualServices.map((v) => v.spec.http[0].route?.[0].destination.subset);
  assert.deepEqual(subset(), ['v1']);
  assert.deepEqual(store.current().errors, []);
  writeConfigMapVolume(dir, 2, { 'reviews.yaml': virtualService('v2') });
  await waitFor('the updated ConfigMap', async () => subset()[0] === 'v2');
  assert.deepEqual(subset(), ['v2']);
  assert.deepEqual(Object.keys(store.current().files), [path.join(dir, 'reviews.yaml')], 'only the key, not the .. internals');
});
