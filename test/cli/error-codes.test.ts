// Error codes are a project-wide namespace: each component keeps its registry, but no code may mean
// two things, and every code a source file uses must be registered and documented.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EbpfErrorCodes } from '../../src/capture/ebpf/errors.js';
import { ConfigErrorCodes } from '../../src/config/errors.js';
import { ControlPlaneErrorCodes } from '../../src/controlplane/errors.js';
import { InjectErrorCodes } from '../../src/inject/errors.js';
import { InstallErrorCodes } from '../../src/install/errors.js';
import { ProxyErrorCodes } from '../../src/proxy/errors.js';
import { CaptureErrorCodes } from '../../src/capture/errors.js';
import { CniErrorCodes } from '../../src/cni/errors.js';
import { repoRoot } from '../helpers/paths.js';

const registries = { config: ConfigErrorCodes, controlPlane: ControlPlaneErrorCodes, proxy: ProxyErrorCodes, capture: CaptureErrorCodes, cni: CniErrorCodes, ebpf: EbpfErrorCodes, install: InstallErrorCodes, inject: InjectErrorCodes } as Record<string, Record<string, string>>;

test('WEFT_E_* codes are unique across components and documented', () => {
  const seen = new Map<string, string>();
  for (const [component, codes] of Object.entries(registries))
    for (const [code, description] of Object.entries(codes)) {
      assert.match(code, /^WEFT_E_[A-Z0-9_]+$/);
      assert.ok(description.length > 10, `${code} has a description`);
      assert.ok(!seen.has(code), `${code} is registered by both ${seen.get(code)} and ${component}`);
      seen.set(code, component);
    }
});

test('every WEFT_E_* code used in src/ is registered', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(repoRoot, 'src'));
  const registered = new Set(Object.values(registries).flatMap((r) => Object.keys(r)));
  const unknown = new Set<string>();
  for (const f of files) for (const m of fs.readFileSync(f, 'utf8').matchAll(/WEFT_E_[A-Z0-9_]+/g)) if (!registered.has(m[0])) unknown.add(`${m[0]} (${path.relative(repoRoot, f)})`);
  assert.deepEqual([...unknown], []);
});
