// weft-cni's input: the CNI_* environment and the network config on stdin, parsed into what the plugin
// needs. Field names in errors are the config's own (`capture.includeInboundPorts`).
import fs from 'node:fs';

import { CaptureError } from '../capture/errors.js';
import { parseCaptureSettings, type CaptureSettings, type RawCaptureSettings } from '../capture/settings.js';
import { CNI_CODE, CniError } from './errors.js';
import { ANNOTATIONS } from '../inject/annotation-names.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type Command = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

const CAPTURE_FIELDS: readonly (keyof RawCaptureSettings)[] = [
  'outboundPort', 'inboundPort', 'proxyUid', 'proxyGid', 'includeInboundPorts', 'excludeInboundPorts', 'includeOutboundCidrs',
  'excludeOutboundCidrs', 'includeOutboundPorts', 'excludeOutboundPorts', 'excludeInterfaces', 'captureDns', 'dnsPort', 'ipv6', 'iptablesLegacy',
];
const TOP_FIELDS = ['cniVersion', 'name', 'type', 'capture', 'excludeNamespaces', 'podAnnotationsFile', 'prevResult', 'runtimeConfig', 'args', 'capabilities'];

/** containerd's capability that hands pod annotations to plugins in runtimeConfig. */
export const ANNOTATIONS_CAPABILITY = 'io.kubernetes.cri.pod-annotations';

export interface Env {
  command: Command;
  containerId: string;
  netns: string | undefined;
  ifname: string;
  args: Map<string, string>;
}

export interface PluginConfig {
  cniVersion: string;
  name: string;
  capture: RawCaptureSettings;
  excludeNamespaces: string[];
  podAnnotationsFile: string | undefined;
  prevResult: unknown;
  runtimeConfig: Record<string, unknown>;
  /** `args.cni` (the runtime conventions' place for K8S_POD_NAME and friends). */
  argsCni: Record<string, unknown>;
}

const configError = (msg: string, details: string) => new CniError(CNI_CODE.invalidConfig, 'WEFT_E_CNI_CONFIG', msg, details);
const envError = (details: string) => new CniError(CNI_CODE.invalidEnv, 'WEFT_E_CNI_ENV', 'invalid CNI environment', details);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const command = env.CNI_COMMAND;
  if (command !== 'ADD' && command !== 'DEL' && command !== 'CHECK' && command !== 'VERSION') throw envError(`CNI_COMMAND is ${JSON.stringify(command ?? '')}, not ADD, DEL, CHECK or VERSION`);
  const args = new Map<string, string>();
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw envError(`CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const need = (name: string) => {
    const v = env[name];
    if (command !== 'VERSION' && (v === undefined || v === '')) throw envError(`${name} is required for ${command}`);
    return v ?? '';
  };
  const containerId = need('CNI_CONTAINERID');
  const ifname = need('CNI_IFNAME');
  const netns = command === 'ADD' || command === 'CHECK' ? need('CNI_NETNS') : env.CNI_NETNS || undefined;
  return { command, containerId, netns, ifname, args };
}

export function decodeConfig(stdin: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_CODE.decode, 'WEFT_E_CNI_DECODE', 'failed to decode the network config', `stdin: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new CniError(CNI_CODE.decode, 'WEFT_E_CNI_DECODE', 'failed to decode the network config', 'stdin: not a JSON object');
  return v;
}

export function checkVersion(raw: Record<string, unknown>): string {
  const v = raw.cniVersion;
  if (typeof v !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(v))
    throw new CniError(CNI_CODE.incompatibleVersion, 'WEFT_E_CNI_VERSION', 'incompatible CNI version', `cniVersion ${JSON.stringify(v)}; weft-cni supports ${SUPPORTED_VERSIONS.join(', ')}`);
  return v;
}

export function parseConfig(raw: Record<string, unknown>): PluginConfig {
  const cniVersion = checkVersion(raw);
  const unknown = Object.keys(raw).filter((k) => !TOP_FIELDS.includes(k));
  const capture = raw.capture ?? {};
  if (!isObject(capture)) throw configError('invalid weft-cni config', 'capture: must be an object of capture settings');
  unknown.push(...Object.keys(capture).filter((k) => !(CAPTURE_FIELDS as readonly string[]).includes(k)).map((k) => `capture.${k}`));
  if (unknown.length) throw new CniError(CNI_CODE.unsupportedField, 'WEFT_E_CNI_UNSUPPORTED_FIELD', 'unsupported field in the weft-cni config', `unknown field(s): ${unknown.join(', ')}`);
  const excludeNamespaces = raw.excludeNamespaces ?? ['kube-system'];
  if (!Array.isArray(excludeNamespaces) || !excludeNamespaces.every((n) => typeof n === 'string')) throw configError('invalid weft-cni config', 'excludeNamespaces: must be a list of namespace names');
  const file = raw.podAnnotationsFile;
  if (file !== undefined && typeof file !== 'string') throw configError('invalid weft-cni config', 'podAnnotationsFile: must be a file path');
  const runtimeConfig = isObject(raw.runtimeConfig) ? raw.runtimeConfig : {};
  const argsCni = isObject(raw.args) && isObject(raw.args.cni) ? raw.args.cni : {};
  return { cniVersion, name: String(raw.name ?? ''), capture: capture as RawCaptureSettings, excludeNamespaces, podAnnotationsFile: file, prevResult: raw.prevResult, runtimeConfig, argsCni };
}

export interface Pod {
  namespace: string;
  name: string;
}

/** The Kubernetes pod, from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME) or `args.cni`; undefined outside Kubernetes. */
export function podOf(env: Env, cfg: PluginConfig): Pod | undefined {
  const pick = (k: string) => env.args.get(k) ?? (typeof cfg.argsCni[k] === 'string' ? (cfg.argsCni[k] as string) : undefined);
  const namespace = pick('K8S_POD_NAMESPACE');
  const name = pick('K8S_POD_NAME');
  return namespace && name ? { namespace, name } : undefined;
}

/** The pod's annotations: from the runtime (containerd's pod-annotations capability), else the lookup file. */
export function annotationsOf(pod: Pod | undefined, cfg: PluginConfig): Record<string, string> {
  const fromRuntime = cfg.runtimeConfig[ANNOTATIONS_CAPABILITY];
  if (isObject(fromRuntime)) return Object.fromEntries(Object.entries(fromRuntime).map(([k, v]) => [k, String(v)]));
  if (!cfg.podAnnotationsFile || !pod) return {};
  let table: unknown;
  try {
    table = JSON.parse(fs.readFileSync(cfg.podAnnotationsFile, 'utf8'));
  } catch (e) {
    throw new CniError(CNI_CODE.tryAgainLater, 'WEFT_E_CNI_LOOKUP', 'pod annotations lookup failed', `podAnnotationsFile ${cfg.podAnnotationsFile}: ${(e as Error).message}`);
  }
  const entry = isObject(table) ? table[`${pod.namespace}/${pod.name}`] : undefined;
  return isObject(entry) ? Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)])) : {};
}

const INJECT = ANNOTATIONS.inject;
/** Per-pod overrides, as the injector reads them: Weft's annotation name first, then Istio's. */
const OVERRIDES: Array<[keyof typeof ANNOTATIONS, keyof RawCaptureSettings]> = [
  ['includeInboundPorts', 'includeInboundPorts'],
  ['excludeInboundPorts', 'excludeInboundPorts'],
  ['includeOutboundIPRanges', 'includeOutboundCidrs'],
  ['excludeOutboundIPRanges', 'excludeOutboundCidrs'],
  ['includeOutboundPorts', 'includeOutboundPorts'],
  ['excludeOutboundPorts', 'excludeOutboundPorts'],
  ['excludeInterfaces', 'excludeInterfaces'],
];

/** Why this pod gets no capture (excluded namespace, or an inject annotation set to false), if it does not. */
export function optOutReason(pod: Pod | undefined, annotations: Record<string, string>, cfg: PluginConfig): string | undefined {
  if (pod && cfg.excludeNamespaces.includes(pod.namespace)) return `namespace ${pod.namespace} is in excludeNamespaces`;
  for (const a of INJECT) if (annotations[a]?.toLowerCase() === 'false') return `annotation ${a}: "false"`;
  return undefined;
}

/** The capture settings for one pod: the plugin's, with the pod's traffic annotations over them. */
export function podSettings(cfg: PluginConfig, annotations: Record<string, string>): CaptureSettings {
  const raw: RawCaptureSettings = { ...cfg.capture };
  const from = new Map<keyof RawCaptureSettings, string>();
  for (const [suffix, key] of OVERRIDES) {
    const name = ANNOTATIONS[suffix].find((n) => annotations[n] !== undefined);
    if (name) {
      raw[key] = annotations[name];
      from.set(key, `annotation ${name}`);
    }
  }
  try {
    return parseCaptureSettings(raw, (k) => from.get(k) ?? `capture.${k}`);
  } catch (e) {
    if (e instanceof CaptureError) throw configError('invalid capture settings', e.message);
    throw e;
  }
}
