// Property-based fuzzing of the config parser and validators: any YAML text ends in resources or
// in errors that name the file, the document and (past the YAML itself) the field — never an
// exception, here or in what the store does next with the result (merge, fingerprint).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { configFingerprint, mergeConfig } from '../../src/config/config-set.js';
import { formatConfigError, isConfigErrorCode } from '../../src/config/errors.js';
import { parseConfigText, WHOLE_FILE } from '../../src/config/parse.js';
import type { ParseResult } from '../../src/config/types.js';
import { configText, objectOf, yamlNoise } from './config-gen.js';
import { prototypeNames } from './http1-gen.js';
import { fuzzParams, fuzzTimeout } from './options.js';

const FILE = 'fuzz.yaml';

/** Parse as the store does (parse, merge, fingerprint) and check the shape of every error. */
function check(text: string): ParseResult {
  const result = parseConfigText(text, FILE);
  assert.equal(result.ok, !('errors' in result) || result.errors.length === 0);
  if (!result.ok) {
    for (const e of result.errors) {
      assert.ok(isConfigErrorCode(e.code), `registered code ${e.code}`);
      assert.equal(e.file, FILE);
      assert.ok(e.document === WHOLE_FILE || e.document >= 0);
      // Past the YAML syntax and the envelope, an error names the field it is about.
      if (e.code !== 'WEFT_E_YAML_SYNTAX' && e.code !== 'WEFT_E_NOT_A_RESOURCE') assert.notEqual(e.path, '', `a field path: ${formatConfigError(e)}`);
      assert.ok(formatConfigError(e).startsWith(FILE));
    }
  }
  for (const r of result.resources) assert.equal(r.origin.file, FILE);
  const merged = mergeConfig([{ file: FILE, resources: result.resources }]);
  assert.equal(typeof configFingerprint(merged.config), 'string');
  return result;
}

describe('fuzz: config parser and validators', { timeout: fuzzTimeout }, () => {
  it('generated and mutated resources: a result or errors naming file, document and field', () => {
    fc.assert(fc.property(configText, (text) => void check(text)), fuzzParams(300, 0.5));
  });

  it('YAML noise: never a throw', () => {
    fc.assert(fc.property(yamlNoise, (text) => void check(text)), fuzzParams(600));
  });

  it('user-named keys (headers, labels, query parameters) keep every name, prototype names too', () => {
    const names = fc.uniqueArray(fc.constantFrom(...prototypeNames, 'x-a', 'end-user'), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(names, (keys) => {
        const matches = objectOf(keys.map((k) => [k, { exact: 'v' }]));
        const values = objectOf(keys.map((k) => [k, 'v']));
        const doc = {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'r' },
          spec: { hosts: ['reviews'], http: [{ match: [{ headers: matches, withoutHeaders: matches, queryParams: matches }], route: [{ destination: { host: 'reviews' } }], headers: { request: { set: values, add: values } } }] },
        };
        const text = `${JSON.stringify(doc)}\n`;
        const result = check(text);
        assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
        const r = result.resources[0];
        assert.equal(r.kind, 'VirtualService');
        if (r.kind !== 'VirtualService') return;
        const route = r.spec.http[0];
        const m = route.match![0];
        for (const got of [m.headers, m.withoutHeaders, m.queryParams, route.headers?.request?.set, route.headers?.request?.add]) {
          assert.deepEqual(Object.keys(got ?? {}).sort(), [...keys].sort());
        }
      }),
      fuzzParams(50, 0.01),
    );
  });
});
