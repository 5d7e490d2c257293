// Shared helpers for the config tests: build a one-resource YAML file, parse it, check its errors.
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { formatConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { ConfigError, MeshResource, ParseResult } from '../../src/config/types.js';

export { fixturesDir, repoRoot } from '../helpers/paths.js';

export function resourceYaml(kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }): string {
  return stringify({ apiVersion: 'networking.istio.io/v1', kind, metadata, spec });
}

export function parseSpec(kind: string, spec: unknown): ParseResult {
  return parseConfigText(resourceYaml(kind, spec), 'test.yaml');
}

/** The only resource of a clean parse. */
export function onlyResource(r: ParseResult): MeshResource {
  assert.ok(r.ok, `unexpected errors:\n${r.ok ? '' : r.errors.map(formatConfigError).join('\n')}`);
  assert.equal(r.resources.length, 1);
  return r.resources[0];
}

export interface WantError {
  code: string;
  path: string;
  message: RegExp;
}

/** Asserts that `r` contains an error with exactly this code and path, and a matching message. */
export function assertHasError(r: ParseResult, want: WantError): ConfigError {
  assert.equal(r.ok, false, 'expected errors, got a clean parse');
  const errors = r.ok ? [] : r.errors;
  const found = errors.find((e) => e.code === want.code && e.path === want.path && want.message.test(e.message));
  assert.ok(found, `no ${want.code} at ${want.path} matching ${want.message}; got:\n${errors.map(formatConfigError).join('\n')}`);
  return found;
}

export const errorsOf = (r: ParseResult): ConfigError[] => (r.ok ? [] : r.errors);
