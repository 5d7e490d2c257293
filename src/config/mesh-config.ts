// The mesh-wide settings the control plane reads once at start (`weft control-plane --mesh-config FILE`),
// in Istio's MeshConfig field names so an existing `mesh` section carries over. Fields Weft acts on
// are validated; a field it does not implement is an error naming file and field, not a silent skip.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration.js';
import { formatConfigError } from './errors.js';
import type { ConfigError } from './types.js';
import { checkMeshTelemetry, defaultMeshTelemetry, MESH_TELEMETRY_FIELDS, readMeshTelemetryField, type MeshTelemetry } from './mesh-telemetry.js';

/** Istio's MeshConfig.ProxyPathNormalization.NormalizationType. */
export type PathNormalizationType = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** Istio's MeshConfig.OutboundTrafficPolicy.Mode. */
export type OutboundTrafficPolicyMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';
const OUTBOUND_MODES: readonly OutboundTrafficPolicyMode[] = ['ALLOW_ANY', 'REGISTRY_ONLY'];

export interface MeshConfig {
  pathNormalization: PathNormalizationType;
  /** connectTimeout: clusters' default connect timeout (Istio: 10 s). */
  connectTimeoutMs: number;
  /** h2UpgradePolicy: mesh-wide default for HTTP ports (a DestinationRule may override). */
  h2UpgradePolicy: 'DO_NOT_UPGRADE' | 'UPGRADE';
  /** trustDomain: the SPIFFE trust domain of workload identities (Istio: cluster.local). */
  trustDomain: string;
  /** rootNamespace: where mesh-wide policies live (Istio: istio-system). */
  rootNamespace: string;
  /** enableAutoMtls: mTLS to every endpoint that has a sidecar with an identity, without config. */
  enableAutoMtls: boolean;
  /** outboundTrafficPolicy.mode: where a transparent sidecar sends traffic for a destination the mesh
   * does not know — ALLOW_ANY passes it through to the original destination, REGISTRY_ONLY blocks it. */
  outboundTrafficPolicy: OutboundTrafficPolicyMode;
  /** Tracing, access-log and metrics providers and defaults (mesh-telemetry.ts). */
  telemetry: MeshTelemetry;
  /** A digest of the settings, for cache keys of the translations that read them. */
  readonly version: string;
}

/** Istio's defaults. */
export const defaultMeshConfig: MeshConfig = Object.freeze({
  pathNormalization: 'BASE',
  connectTimeoutMs: 10_000,
  h2UpgradePolicy: 'DO_NOT_UPGRADE',
  trustDomain: 'cluster.local',
  rootNamespace: 'istio-system',
  enableAutoMtls: true,
  outboundTrafficPolicy: 'ALLOW_ANY',
  telemetry: defaultMeshTelemetry,
  version: 'default',
});

/** A trust domain or namespace: DNS-label characters (SPIFFE IDs and Kubernetes names use them). */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const normalizations = new Set<PathNormalizationType>(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']);
const MAX_MESH_CONFIG_BYTES = 1 << 20;

export type MeshConfigResult = { ok: true; mesh: MeshConfig } | { ok: false; errors: string[] };

export function loadMeshConfig(file: string): MeshConfigResult {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_MESH_CONFIG_BYTES) return fail([{ code: 'WEFT_E_FILE_TOO_LARGE', file, document: -1, path: '', message: `is ${size} bytes; the limit is ${MAX_MESH_CONFIG_BYTES}` }]);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return fail([{ code: 'WEFT_E_READ_FILE', file, document: -1, path: '', message: (err as Error).message }]);
  }
  return parseMeshConfig(text, file);
}

export function parseMeshConfig(text: string, file: string): MeshConfigResult {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    return fail([{ code: 'WEFT_E_YAML_SYNTAX', file, document: 0, path: '', message: (err as Error).message.split('\n')[0] }]);
  }
  const errors: ConfigError[] = [];
  const err = (code: string, path: string, message: string) => errors.push({ code, file, document: 0, resource: 'MeshConfig', path, message });
  if (doc === null || doc === undefined) return { ok: true, mesh: defaultMeshConfig };
  if (typeof doc !== 'object' || Array.isArray(doc)) return fail([{ code: 'WEFT_E_TYPE', file, document: 0, resource: 'MeshConfig', path: '', message: 'must be a mapping of MeshConfig fields' }]);
  const raw = doc as Record<string, unknown>;
  let pathNormalization: PathNormalizationType = defaultMeshConfig.pathNormalization;
  let connectTimeoutMs = defaultMeshConfig.connectTimeoutMs;
  let h2UpgradePolicy = defaultMeshConfig.h2UpgradePolicy;
  let { trustDomain, rootNamespace, enableAutoMtls, outboundTrafficPolicy } = defaultMeshConfig;
  const telemetry: MeshTelemetry = structuredClone(defaultMeshTelemetry);
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'pathNormalization') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        err('WEFT_E_TYPE', 'pathNormalization', 'must be a mapping with `normalization`');
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (k !== 'normalization') err('WEFT_E_UNKNOWN_FIELD', `pathNormalization.${k}`, 'is not a field of ProxyPathNormalization');
        else if (typeof v !== 'string' || !normalizations.has(v as PathNormalizationType)) {
          err('WEFT_E_INVALID_VALUE', 'pathNormalization.normalization', `must be one of ${[...normalizations].join(', ')}, got ${JSON.stringify(v)}`);
        } else pathNormalization = v as PathNormalizationType;
      }
    } else if (key === 'connectTimeout') {
      const d = typeof value === 'string' ? parseDuration(value) : { ok: false as const, message: `must be a duration such as 10s, got ${JSON.stringify(value)}` };
      if (d.ok) connectTimeoutMs = d.ms;
      else err('WEFT_E_DURATION', 'connectTimeout', d.message);
    } else if (key === 'h2UpgradePolicy') {
      if (value === 'UPGRADE' || value === 'DO_NOT_UPGRADE') h2UpgradePolicy = value;
      else err('WEFT_E_INVALID_VALUE', 'h2UpgradePolicy', `must be DO_NOT_UPGRADE or UPGRADE, got ${JSON.stringify(value)}`);
    } else if (key === 'trustDomain' || key === 'rootNamespace') {
      if (typeof value !== 'string' || !NAME.test(value)) err('WEFT_E_INVALID_VALUE', key, `must be a lower-case DNS name, got ${JSON.stringify(value)}`);
      else if (key === 'trustDomain') trustDomain = value;
      else rootNamespace = value;
    } else if (key === 'enableAutoMtls') {
      if (typeof value !== 'boolean') err('WEFT_E_TYPE', key, `must be true or false, got ${JSON.stringify(value)}`);
      else enableAutoMtls = value;
    } else if (key === 'outboundTrafficPolicy') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        err('WEFT_E_TYPE', key, 'must be a mapping with `mode`');
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (k !== 'mode') err('WEFT_E_UNKNOWN_FIELD', `outboundTrafficPolicy.${k}`, 'is not a field of OutboundTrafficPolicy (only `mode`)');
        else if (typeof v !== 'string' || !OUTBOUND_MODES.includes(v as OutboundTrafficPolicyMode))
          err('WEFT_E_INVALID_VALUE', 'outboundTrafficPolicy.mode', `must be one of ${OUTBOUND_MODES.join(', ')}, got ${JSON.stringify(v)}`);
        else outboundTrafficPolicy = v as OutboundTrafficPolicyMode;
      }
    } else if ((MESH_TELEMETRY_FIELDS as readonly string[]).includes(key)) {
      readMeshTelemetryField(telemetry, key as (typeof MESH_TELEMETRY_FIELDS)[number], value, (code, path, message) => err(code, path, message));
    } else err('WEFT_E_UNSUPPORTED', key, 'is a MeshConfig field Weft does not implement yet');
  }
  checkMeshTelemetry(telemetry, (code, path, message) => err(code, path, message));
  if (errors.length > 0) return fail(errors);
  return { ok: true, mesh: withVersion({ pathNormalization, connectTimeoutMs, h2UpgradePolicy, trustDomain, rootNamespace, enableAutoMtls, outboundTrafficPolicy, telemetry }) };
}

/** A mesh config with its version: the defaults keep `default`, so an empty file changes no key. */
export function withVersion(m: Omit<MeshConfig, 'version'>): MeshConfig {
  const d = defaultMeshConfig;
  const telemetry = JSON.stringify(m.telemetry);
  const same = (Object.keys(m) as (keyof typeof m)[]).every((k) => (k === 'telemetry' ? telemetry === JSON.stringify(d.telemetry) : m[k] === d[k]));
  const digest = createHash('sha256').update(telemetry).digest('hex').slice(0, 12);
  return { ...m, version: same ? 'default' : [m.pathNormalization, m.connectTimeoutMs, m.h2UpgradePolicy, m.trustDomain, m.rootNamespace, m.enableAutoMtls, m.outboundTrafficPolicy, digest].join('|') };
}

function fail(errors: ConfigError[]): MeshConfigResult {
  return { ok: false, errors: errors.map(formatConfigError) };
}

/** The HCM fields Istio sets for each normalization type. */
export function hcmPathFields(t: PathNormalizationType): Record<string, unknown> {
  switch (t) {
    case 'NONE':
      return {};
    case 'BASE':
      return { normalize_path: { value: true }, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case 'MERGE_SLASHES':
      return { normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case 'DECODE_AND_MERGE_SLASHES':
      return { normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' };
  }
}
