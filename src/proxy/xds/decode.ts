// The edge where raw xDS resources (Any) become typed models: decode every resource, validate
// it, and report every problem of the whole response at once (one NACK lists them all).
import { TypeUrl, unpackAny, type AnyWire } from '../../api/envoy.js';
import type { ModelByType } from './model.js';
import type { Raw, ValidationResult } from './validate-common.js';
import { validateCluster, validateClusterLoadAssignment } from './validate-cluster.js';
import { validateListener } from './validate-listener.js';
import { validateRouteConfiguration, validateVirtualHost } from './validate-route.js';
import { validateSecret } from './validate-secret.js';

export type ProxyXdsType = keyof ModelByType;

export const proxyXdsTypes: readonly ProxyXdsType[] = ['cluster', 'endpoint', 'listener', 'route', 'virtualHost', 'secret'];

export interface DecodedResource<K extends ProxyXdsType> {
  name: string;
  /** The decoded proto as a plain object (for /config_dump). */
  raw: Raw;
  model: ModelByType[K];
}

const validators: { [K in ProxyXdsType]: (raw: Raw) => ValidationResult<ModelByType[K]> } = {
  listener: validateListener,
  route: validateRouteConfiguration,
  virtualHost: validateVirtualHost,
  cluster: validateCluster,
  endpoint: validateClusterLoadAssignment,
  secret: validateSecret,
};

const nameField: Record<ProxyXdsType, string> = { listener: 'name', route: 'name', virtualHost: 'name', cluster: 'name', endpoint: 'cluster_name', secret: 'name' };

/** Validate one already-decoded resource (also the unit-test entry point). */
export function validateResource<K extends ProxyXdsType>(type: K, raw: Raw): ValidationResult<ModelByType[K]> {
  return validators[type](raw);
}

export function decodeResources<K extends ProxyXdsType>(type: K, resources: readonly AnyWire[]): ValidationResult<DecodedResource<K>[]> {
  const errors: string[] = [];
  const out: DecodedResource<K>[] = [];
  const seen = new Set<string>();
  const want = TypeUrl[type];
  resources.forEach((any, i) => {
    if (any.type_url !== want) {
      errors.push(`resources[${i}]: type ${any.type_url} in a ${want} response`);
      return;
    }
    let raw: Raw;
    try {
      raw = unpackAny(any);
    } catch (err) {
      errors.push(`resources[${i}]: cannot decode: ${(err as Error).message} [WEFT_E_XDS_DECODE]`);
      return;
    }
    const name = typeof raw[nameField[type]] === 'string' ? (raw[nameField[type]] as string) : '';
    if (name && seen.has(name)) errors.push(`${type} ${name}: duplicate resource name in one response`);
    seen.add(name);
    const v = validators[type](raw);
    if (!v.valid) errors.push(...v.errors);
    else out.push({ name, raw, model: v.result });
  });
  if (errors.length > 0) return { valid: false, errors };
  return { valid: true, result: out };
}
