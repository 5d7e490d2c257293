// The pod annotations (and labels) injection honours, under Istio's names and Weft's: each Istio key
// has a Weft twin with the same name under weft.dev (sidecar.istio.io/X -> sidecar.weft.dev/X,
// traffic.sidecar.istio.io/X -> traffic.weft.dev/X, proxy.istio.io/config -> proxy.weft.dev/config);
// where both are set, Weft's wins. Every value is checked here, once, with the field it came from.
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../config/duration.js';
import { CaptureError } from '../capture/errors.js';
import { parseCaptureSettings, type RawCaptureSettings } from '../capture/settings.js';
import type { InjectProblem } from './errors.js';
import { QUANTITY } from './quantity.js';
import { ANNOTATIONS } from './annotation-names.js';
import type { ObjectMeta } from './types.js';

export { ANNOTATIONS };


/** What the annotations ask for; undefined: the injector's default. */
export interface PodSettings {
  /** The pod's own word on injection (label or annotation); undefined when it says nothing. */
  inject?: boolean;
  includeInboundPorts?: string;
  excludeInboundPorts?: string;
  includeOutboundPorts?: string;
  excludeOutboundPorts?: string;
  includeOutboundCidrs?: string;
  excludeOutboundCidrs?: string;
  excludeInterfaces?: string;
  resources: { cpu?: string; memory?: string; cpuLimit?: string; memoryLimit?: string };
  image?: string;
  nativeSidecar?: boolean;
  rewriteProbes: boolean;
  proxy: ProxyConfigSettings;
}

/** The ProxyConfig fields (proxy.istio.io/config) Weft acts on; others are listed in `ignored`. */
export interface ProxyConfigSettings {
  discoveryAddress?: string;
  holdApplicationUntilProxyStarts?: boolean;
  terminationDrainMs?: number;
  proxyMetadata: Record<string, string>;
  /** Fields Weft reads but does not act on (concurrency: the proxy is one Node event loop). */
  ignored: string[];
}

/** Turn on when `weft proxy` answers DNS on 15053; until then DNS capture is refused, not half done. */
export const PROXY_SERVES_DNS = false;


/** Read and check every injection annotation; problems name the field (under metadata). */
export function readPodSettings(meta: ObjectMeta | undefined, base: string): { settings: PodSettings; problems: InjectProblem[] } {
  const problems: InjectProblem[] = [];
  const annotations = meta?.annotations ?? {};
  const labels = meta?.labels ?? {};
  const bad = (field: string, message: string) => problems.push({ code: 'WEFT_E_INJECT_ANNOTATION', field, message });
  const read = (names: readonly [string, string]): { value: string; field: string } | undefined => {
    for (const key of names) {
      const v = annotations[key];
      if (v !== undefined) return { value: String(v).trim(), field: `${base}.annotations['${key}']` };
    }
    return undefined;
  };
  const bool = (names: readonly [string, string], fromLabels = false): boolean | undefined => {
    let found = read(names);
    if (fromLabels)
      for (const key of names)
        if (labels[key] !== undefined) {
          // Istio reads the label first (the annotation form is deprecated there).
          found = { value: String(labels[key]).trim(), field: `${base}.labels['${key}']` };
          break;
        }
    if (!found) return undefined;
    if (found.value === 'true') return true;
    if (found.value === 'false') return false;
    bad(found.field, `must be "true" or "false", got ${JSON.stringify(found.value)}`);
    return undefined;
  };
  // The traffic lists are checked by the parser `weft iptables` and weft-cni use, so the injector
  // accepts exactly what the capture step will (one key at a time, so each error names its annotation).
  const traffic = (names: readonly [string, string], key: keyof RawCaptureSettings): string | undefined => {
    const f = read(names);
    if (!f) return undefined;
    const v = f.value.replace(/\s+/g, '');
    try {
      parseCaptureSettings({ [key]: v }, () => '');
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      for (const m of err.message.split('; ')) bad(f.field, m.replace(/^: /, ''));
    }
    return v;
  };
  const quantity = (names: readonly [string, string]): string | undefined => {
    const f = read(names);
    if (f && !QUANTITY.test(f.value)) bad(f.field, `must be a Kubernetes quantity such as 100m, 2, 128Mi, got ${JSON.stringify(f.value)}`);
    return f?.value;
  };
  const image = read(ANNOTATIONS.proxyImage);
  if (image && image.value === '') bad(image.field, 'must name an image');
  const settings: PodSettings = {
    inject: bool(ANNOTATIONS.inject, true),
    includeInboundPorts: traffic(ANNOTATIONS.includeInboundPorts, 'includeInboundPorts'),
    excludeInboundPorts: traffic(ANNOTATIONS.excludeInboundPorts, 'excludeInboundPorts'),
    includeOutboundPorts: traffic(ANNOTATIONS.includeOutboundPorts, 'includeOutboundPorts'),
    excludeOutboundPorts: traffic(ANNOTATIONS.excludeOutboundPorts, 'excludeOutboundPorts'),
    includeOutboundCidrs: traffic(ANNOTATIONS.includeOutboundIPRanges, 'includeOutboundCidrs'),
    excludeOutboundCidrs: traffic(ANNOTATIONS.excludeOutboundIPRanges, 'excludeOutboundCidrs'),
    excludeInterfaces: traffic(ANNOTATIONS.excludeInterfaces, 'excludeInterfaces'),
    resources: {
      cpu: quantity(ANNOTATIONS.proxyCPU),
      memory: quantity(ANNOTATIONS.proxyMemory),
      cpuLimit: quantity(ANNOTATIONS.proxyCPULimit),
      memoryLimit: quantity(ANNOTATIONS.proxyMemoryLimit),
    },
    image: image?.value,
    nativeSidecar: bool(ANNOTATIONS.nativeSidecar),
    rewriteProbes: bool(ANNOTATIONS.rewriteAppHTTPProbers) ?? true,
    proxy: readProxyConfig(read(ANNOTATIONS.proxyConfig), bad),
  };
  return { settings, problems };
}

function readProxyConfig(f: { value: string; field: string } | undefined, bad: (field: string, message: string) => void): ProxyConfigSettings {
  const out: ProxyConfigSettings = { proxyMetadata: {}, ignored: [] };
  if (!f) return out;
  let doc: unknown;
  try {
    doc = parseYaml(f.value, { maxAliasCount: 10 });
  } catch (err) {
    bad(f.field, `is not YAML: ${(err as Error).message.split('\n')[0]}`);
    return out;
  }
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    bad(f.field, 'must be a YAML mapping of ProxyConfig fields');
    return out;
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const field = `${f.field}.${k}`;
    if (k === 'discoveryAddress') {
      if (typeof v !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(v)) bad(field, `must be host:port, got ${JSON.stringify(v)}`);
      else out.discoveryAddress = v;
    } else if (k === 'holdApplicationUntilProxyStarts') {
      if (typeof v !== 'boolean') bad(field, `must be true or false, got ${JSON.stringify(v)}`);
      else out.holdApplicationUntilProxyStarts = v;
    } else if (k === 'terminationDrainDuration') {
      const d = typeof v === 'string' ? parseDuration(v, { allowZero: true }) : { ok: false as const, message: `must be a duration such as 5s, got ${JSON.stringify(v)}` };
      if (!d.ok) bad(field, d.message);
      else out.terminationDrainMs = d.ms;
    } else if (k === 'proxyMetadata') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be a mapping of environment variables');
      else
        for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) bad(`${field}.${name}`, 'is not an environment variable name');
          else if (typeof value !== 'string') bad(`${field}.${name}`, `must be a string, got ${JSON.stringify(value)}`);
          else if (name === 'ISTIO_META_DNS_CAPTURE' && value === 'true' && !PROXY_SERVES_DNS)
            bad(`${field}.${name}`, 'asks for DNS capture, but the Weft proxy serves no DNS yet: port 53 would be sent to nothing and the pod would lose name resolution');
          else out.proxyMetadata[name] = value;
        }
    } else if (k === 'concurrency') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(field, `must be a whole number, got ${JSON.stringify(v)}`);
      else out.ignored.push(k);
    } else bad(field, 'is a ProxyConfig field Weft does not implement (discoveryAddress, holdApplicationUntilProxyStarts, terminationDrainDuration, proxyMetadata, concurrency)');
  }
  return out;
}
