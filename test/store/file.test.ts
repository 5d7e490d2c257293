import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FileConfigStore } from '../../src/controlplane/store/file.js';
import type { StoreState } from '../../src/controlplane/store/store.js';

const vs = (name: string, subset: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
  hosts: [${name}]
  http:
  - route:
    - destination: {host: ${name}, subset: ${subset}}
${extra}`;
const dr = (name: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}
  subsets:
  - {name: v1, labels: {version: v1}}
`;
const BROKEN = (name: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}]
  http:
  - route:
    - destination: {host: ${name}}
      weight: lots
`;

const subsetsOf = (s: StoreState) => s.config.virtualServices.map((v) => `${v.metadata.name}:${v.spec.http[0].route?.[0].destination.subset}`);

/** Resolves with the first state (now or after a change) that satisfies `pred`; rejects after a bounded wait. */
function waitFor(store: FileConfigStore, pred: (s: StoreState) => boolean, what: string): Promise<StoreState> {
  if (pred(store.current())) return Promise.resolve(store.current());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for: ${what}; state: ${JSON.stringify({ version: store.current().version, vs: subsetsOf(store.current()), errors: store.current().errors })}`));
    }, 10_000);
    const off = store.onChange((s) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

describe('FileConfigStore', () => {
  let root = '';
  let dir = '';
  let store: FileConfigStore | undefined;
  let logs: string[] = [];
  const open = async (opts: { pollMs?: number } = {}) => {
    store = new FileConfigStore({ dir, log: (m) => logs.push(m), debounceMs: 10, pollMs: opts.pollMs ?? 0 });
    await store.start();
    return store;
  };

  beforeEach(async () => {
    root = dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
    logs = [];
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('loads every *.yaml / *.yml file at start, ignoring other files', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await writeFile(join(dir, 'b.yml'), dr('reviews'));
    await writeFile(join(dir, 'README.md'), '# not config');
    await writeFile(join(dir, '.#a.yaml'), 'editor lock file');
    const s = (await open()).current();
    assert.equal(s.version, 1);
    assert.deepEqual(subsetsOf(s), ['reviews:v1']);
    assert.equal(s.config.destinationRules.length, 1);
    assert.deepEqual(s.errors, []);
    assert.deepEqual(Object.keys(s.files).sort(), [join(dir, 'a.yaml'), join(dir, 'b.yml')]);
    assert.deepEqual({ ...s.files[join(dir, 'a.yaml')], loadedAt: '' }, { ok: true, resources: 1, errors: 0, loadedAt: '' });
  });

  it('security.istio.io kinds land in their own lists; an edit to one is a new version', async () => {
    const policy = (principal: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-viewer}
spec:
  action: ALLOW
  rules: [{from: [{source: {principals: ["${principal}"]}}]}]
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt}
spec: {jwtRules: [{issuer: "https://issuer.example", jwksUri: "https://issuer.example/jwks"}]}
`;
    await writeFile(join(dir, 'security.yaml'), policy('cluster.local/ns/default/sa/reviews'));
    const st = await open();
    const s = st.current();
    assert.deepEqual(s.errors, []);
    assert.deepEqual([s.config.authorizationPolicies.length, s.config.peerAuthentications.length, s.config.requestAuthentications.length], [1, 1, 1]);
    assert.equal(s.config.peerAuthentications[0].spec.mtls?.mode, 'STRICT');
    await writeFile(join(dir, 'security.yaml'), policy('cluster.local/ns/default/sa/productpage'));
    const edited = await waitFor(st, (x) => x.config.authorizationPolicies[0]?.spec.rules[0].from?.[0].source.principals?.[0] === 'cluster.local/ns/default/sa/productpage', 'policy edit');
    assert.equal(edited.version, 2);
  });

  it('creates the directory if it does not exist yet', async () => {
    dir = join(dir, 'later', 'config');
    const s = (await open()).current();
    assert.equal(s.version, 1);
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await waitFor(store!, (x) => x.config.virtualServices.length === 1, 'the new file');
  });

  it('picks up an edit, a new file and a delete', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    const st = await open();
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v2'));
    const edited = await waitFor(st, (s) => subsetsOf(s).includes('reviews:v2'), 'edit');
    assert.equal(edited.version, 2);

    await writeFile(join(dir, 'b.yaml'), vs('ratings', 'v1'));
    await waitFor(st, (s) => subsetsOf(s).includes('ratings:v1'), 'new file');

    await unlink(join(dir, 'a.yaml'));
    const s = await waitFor(st, (x) => !subsetsOf(x).includes('reviews:v2'), 'delete');
    assert.deepEqual(subsetsOf(s), ['ratings:v1']);
    assert.deepEqual(Object.keys(s.files), [join(dir, 'b.yaml')]);
  });

  it('sees files an editor writes to a temp name and renames into place', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    const st = await open();
    const tmp = join(dir, '.a.yaml.swp');
    await writeFile(tmp, vs('reviews', 'v3'));
    await rename(tmp, join(dir, 'a.yaml'));
    await waitFor(st, (s) => subsetsOf(s).includes('reviews:v3'), 'rename into place');
  });

  it('a bad edit keeps the last good version and exposes the errors; fixing it clears them', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await writeFile(join(dir, 'b.yaml'), vs('ratings', 'v1'));
    const st = await open();

    await writeFile(join(dir, 'a.yaml'), BROKEN('reviews'));
    const bad = await waitFor(st, (s) => s.errors.length > 0, 'the error');
    assert.deepEqual(subsetsOf(bad), ['reviews:v1', 'ratings:v1'], 'last good a.yaml and b.yaml still served');
    assert.deepEqual(bad.errors.map((e) => [e.code, e.file, e.path]), [['WEFT_E_TYPE', join(dir, 'a.yaml'), 'spec.http[0].route[0].weight']]);
    assert.deepEqual({ ...bad.files[join(dir, 'a.yaml')], loadedAt: '' }, { ok: false, resources: 1, errors: 1, loadedAt: '' });
    assert.ok(logs.some((l) => l.includes('a.yaml: document 1 (line 9): VirtualService default/reviews: spec.http[0].route[0].weight')), logs.join('\n'));

    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v2'));
    const fixed = await waitFor(st, (s) => s.errors.length === 0, 'the fix');
    assert.deepEqual(subsetsOf(fixed), ['reviews:v2', 'ratings:v1']);
    assert.equal(fixed.files[join(dir, 'a.yaml')].ok, true);
  });

  it('a file that never loaded cleanly contributes nothing, not even its valid documents', async () => {
    await writeFile(join(dir, 'a.yaml'), `${vs('ratings', 'v1')}---\n${BROKEN('reviews')}`);
    const s = (await open()).current();
    assert.deepEqual(subsetsOf(s), []);
    assert.equal(s.errors.length, 1);
    assert.deepEqual({ ...s.files[join(dir, 'a.yaml')], loadedAt: '' }, { ok: false, resources: 0, errors: 1, loadedAt: '' });
  });

  it('the same resource in two files: the first file wins and the error names both', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await writeFile(join(dir, 'b.yaml'), vs('reviews', 'v2'));
    const s = (await open()).current();
    assert.deepEqual(subsetsOf(s), ['reviews:v1']);
    assert.equal(s.errors.length, 1);
    const [e] = s.errors;
    assert.equal(e.code, 'WEFT_E_DUPLICATE_RESOURCE');
    assert.equal(e.file, join(dir, 'b.yaml'));
    assert.match(e.message, new RegExp(`also defined in ${join(dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    await unlink(join(dir, 'a.yaml'));
    const after = await waitFor(store!, (x) => x.errors.length === 0, 'duplicate resolved');
    assert.deepEqual(subsetsOf(after), ['reviews:v2']);
  });

  it('the version moves only when config or errors change', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    const st = await open();
    const seen: number[] = [];
    st.onChange((s) => seen.push(s.version));
    // Same content, a comment, a move down the file: nothing the mesh sees changes.
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await writeFile(join(dir, 'a.yaml'), `# a comment\n\n${vs('reviews', 'v1')}`);
    // A real change to another file, as a marker that the edits above were scanned.
    await writeFile(join(dir, 'b.yaml'), dr('reviews'));
    const s = await waitFor(st, (x) => x.config.destinationRules.length === 1, 'marker');
    assert.equal(s.version, 2);
    assert.deepEqual(seen, [2]);
    assert.equal(s.config.virtualServices[0].origin.line, 3, 'the state still carries fresh origins');
  });

  it('an emptied file is believed on the next scan (not the one that caught a truncate)', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    const st = await open();
    await writeFile(join(dir, 'a.yaml'), '');
    const s = await waitFor(st, (x) => x.config.virtualServices.length === 0, 'empty file');
    assert.deepEqual(s.errors, []);
    assert.deepEqual({ ...s.files[join(dir, 'a.yaml')], loadedAt: '' }, { ok: true, resources: 0, errors: 0, loadedAt: '' });
  });

  it('falls back to polling when watch events are missed', async () => {
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    const st = await open({ pollMs: 50 });
    // Simulate a lost watcher: only the poll can notice the edit.
    (st as unknown as { watcher?: { close(): void } }).watcher?.close();
    (st as unknown as { watcher?: unknown }).watcher = undefined;
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v2'));
    await waitFor(st, (s) => subsetsOf(s).includes('reviews:v2'), 'poll');
  });

  it('stops notifying after close and after unsubscribe', async () => {
    const st = await open();
    let calls = 0;
    const off = st.onChange(() => calls++);
    off();
    await writeFile(join(dir, 'a.yaml'), vs('reviews', 'v1'));
    await waitFor(st, (s) => s.config.virtualServices.length === 1, 'load');
    assert.equal(calls, 0);
    await st.close();
    const version = st.current().version;
    // A second store on the same directory, with the same debounce, is the witness: once it has loaded
    // two later writes one after the other, a store still watching would have loaded the first.
    const witness = new FileConfigStore({ dir, debounceMs: 10, pollMs: 0 });
    await witness.start();
    try {
      await writeFile(join(dir, 'b.yaml'), vs('ratings', 'v1'));
      await waitFor(witness, (s) => s.config.virtualServices.length === 2, 'the witness loads b.yaml');
      await writeFile(join(dir, 'c.yaml'), vs('details', 'v1'));
      await waitFor(witness, (s) => s.config.virtualServices.length === 3, 'the witness loads c.yaml');
    } finally {
      await witness.close();
    }
    assert.equal(st.current().version, version, 'the closed store did not rescan');
  });
});
