// --mesh-config: Istio's MeshConfig field names; what Weft implements is validated, the rest is an
// error naming file and field; pathNormalization becomes the HCM fields Istio sets for it, and a
// real control plane refuses a bad file at start with that error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hcmPathFields, parseMeshConfig } from '../../src/config/mesh-config.js';
import { listeners } from '../../src/controlplane/translate/listeners.js';
import { spawnWeft } from '../helpers/processes.js';
import { proxy } from '../translate/fixtures.js';

describe('mesh config', () => {
  const cases: { name: string; yaml: string; want?: string; error?: RegExp }[] = [
    { name: 'empty file: Istio defaults', yaml: '', want: 'BASE' },
    { name: 'MERGE_SLASHES', yaml: 'pathNormalization:\n  normalization: MERGE_SLASHES\n', want: 'MERGE_SLASHES' },
    { name: 'NONE', yaml: 'pathNormalization: { normalization: NONE }\n', want: 'NONE' },
    { name: 'unknown normalization', yaml: 'pathNormalization: { normalization: SOME }\n', error: /^mesh\.yaml: document 1: MeshConfig: pathNormalization\.normalization: must be one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES, got "SOME" \[WEFT_E_INVALID_VALUE\]$/ },
    { name: 'a field Weft does not implement', yaml: 'discoverySelectors: []\n', error: /^mesh\.yaml: document 1: MeshConfig: discoverySelectors: is a MeshConfig field Weft does not implement yet \[WEFT_E_UNSUPPORTED\]$/ },
    { name: 'connectTimeout not a duration', yaml: 'connectTimeout: soon\n', error: /MeshConfig: connectTimeout: must be a duration .* \[WEFT_E_DURATION\]$/ },
    { name: 'h2UpgradePolicy unknown', yaml: 'h2UpgradePolicy: SOMETIMES\n', error: /MeshConfig: h2UpgradePolicy: must be DO_NOT_UPGRADE or UPGRADE/ },
    { name: 'a typo inside', yaml: 'pathNormalization: { normalisation: BASE }\n', error: /pathNormalization\.normalisation: is not a field of ProxyPathNormalization \[WEFT_E_UNKNOWN_FIELD\]/ },
    { name: 'not a mapping', yaml: '- a\n', error: /must be a mapping of MeshConfig fields \[WEFT_E_TYPE\]/ },
    { name: 'outboundTrafficPolicy mode unknown', yaml: 'outboundTrafficPolicy: { mode: DENY }\n', error: /^mesh\.yaml: document 1: MeshConfig: outboundTrafficPolicy\.mode: must be one of ALLOW_ANY, REGISTRY_ONLY, got "DENY" \[WEFT_E_INVALID_VALUE\]$/ },
    { name: 'outboundTrafficPolicy not a mapping', yaml: 'outboundTrafficPolicy: REGISTRY_ONLY\n', error: /MeshConfig: outboundTrafficPolicy: must be a mapping with `mode` \[WEFT_E_TYPE\]/ },
    { name: 'outboundTrafficPolicy typo', yaml: 'outboundTrafficPolicy: { mod: REGISTRY_ONLY }\n', error: /outboundTrafficPolicy\.mod: is not a field of OutboundTrafficPolicy \(only `mode`\) \[WEFT_E_UNKNOWN_FIELD\]/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseMeshConfig(c.yaml, 'mesh.yaml');
      if (c.error) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.errors[0], c.error);
      } else {
        assert.ok(r.ok, JSON.stringify(r));
        if (r.ok) assert.equal(r.mesh.pathNormalization, c.want);
      }
    });
  }

  it('connectTimeout and h2UpgradePolicy are read', () => {
    const r = parseMeshConfig('connectTimeout: 2.5s\nh2UpgradePolicy: UPGRADE\n', 'mesh.yaml');
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual([r.mesh.connectTimeoutMs, r.mesh.h2UpgradePolicy, r.mesh.pathNormalization], [2500, 'UPGRADE', 'BASE']);
  });

  it('outboundTrafficPolicy: ALLOW_ANY by default (as Istio), REGISTRY_ONLY read, and part of the version', () => {
    const d = parseMeshConfig('', 'mesh.yaml');
    const r = parseMeshConfig('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n', 'mesh.yaml');
    const a = parseMeshConfig('outboundTrafficPolicy: { mode: ALLOW_ANY }\n', 'mesh.yaml');
    assert.ok(d.ok && r.ok && a.ok);
    if (!d.ok || !r.ok || !a.ok) return;
    assert.deepEqual([d.mesh.outboundTrafficPolicy, r.mesh.outboundTrafficPolicy, a.mesh.outboundTrafficPolicy], ['ALLOW_ANY', 'REGISTRY_ONLY', 'ALLOW_ANY']);
    assert.equal(a.mesh.version, 'default', 'the default written out changes no cache key');
    assert.notEqual(r.mesh.version, d.mesh.version);
  });

  it('pathNormalization becomes the HCM fields Istio sets, on every sidecar listener', () => {
    assert.deepEqual(hcmPathFields('NONE'), {});
    assert.deepEqual(hcmPathFields('DECODE_AND_MERGE_SLASHES'), { normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' });
    const r = parseMeshConfig('pathNormalization: { normalization: MERGE_SLASHES }', 'm.yaml');
    assert.ok(r.ok);
    const ls = listeners(proxy('reviews', 'v1', 1), { onDemandVhds: false, mesh: r.ok ? r.mesh : undefined });
    for (const l of ls) {
      const hcm = ((l.body as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }).filter_chains[0].filters[0].typed_config);
      assert.equal(hcm.merge_slashes, true, l.name);
      assert.deepEqual(hcm.normalize_path, { value: true });
    }
  });

  it('weft control-plane refuses a bad mesh config at start, naming file and field', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-mesh-'));
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, 'pathNormalization: { normalization: WRONG }\n');
    const p = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--monitor-address', '127.0.0.1:0', '--mesh-config', file]);
    const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(p.output(), /--mesh-config: .*mesh\.yaml: document 1: MeshConfig: pathNormalization\.normalization: must be one of/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
