import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrorCodes, formatConfigError, isConfigErrorCode } from '../../src/config/errors.js';
import { repoRoot } from './helpers.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('config error registry', () => {
  it('every code is well-formed and has a one-line description', () => {
    for (const [code, description] of Object.entries(ConfigErrorCodes)) {
      assert.match(code, /^WEFT_E_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      assert.ok(description.length > 10, `${code} needs a description`);
      assert.doesNotMatch(description, /\n/);
    }
  });

  it('codes and descriptions are unique', () => {
    const codes = Object.keys(ConfigErrorCodes);
    assert.equal(new Set(codes.map((c) => c.toUpperCase())).size, codes.length);
    const descriptions = Object.values(ConfigErrorCodes);
    assert.equal(new Set(descriptions).size, descriptions.length);
  });

  it('every WEFT_E_* code used by the config code is registered', () => {
    const files = [...sourceFiles(join(repoRoot, 'src', 'config')), ...sourceFiles(join(repoRoot, 'src', 'controlplane', 'store')), join(repoRoot, 'src', 'cli', 'analyze.ts')];
    const used = new Set<string>();
    for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/'(WEFT_E_[A-Z0-9_]+)'/g)) used.add(m[1]);
    assert.ok(used.size >= 10, 'the scan found the codes in use');
    for (const code of used) assert.ok(isConfigErrorCode(code), `${code} is used but not in ConfigErrorCodes`);
  });
});

describe('formatConfigError', () => {
  const cases = [
    {
      name: 'full',
      input: { code: 'WEFT_E_TYPE', file: 'bad.yaml', document: 1, line: 14, resource: 'VirtualService default/reviews', path: 'spec.http[0].route[1].weight', message: 'must be an integer, got "abc"' },
      want: 'bad.yaml: document 2 (line 14): VirtualService default/reviews: spec.http[0].route[1].weight: must be an integer, got "abc" [WEFT_E_TYPE]',
    },
    {
      name: 'no resource, no path, no line',
      input: { code: 'WEFT_E_YAML_SYNTAX', file: 'x.yaml', document: 0, path: '', message: 'bad indent' },
      want: 'x.yaml: document 1: bad indent [WEFT_E_YAML_SYNTAX]',
    },
    {
      name: 'whole-file error',
      input: { code: 'WEFT_E_READ_FILE', file: 'gone.yaml', document: -1, path: '', message: 'cannot read: no such file or directory' },
      want: 'gone.yaml: cannot read: no such file or directory [WEFT_E_READ_FILE]',
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(formatConfigError(c.input), c.want));
});
