// Chaining the weft-cni entry into the node's CNI config (pure): the runtime runs the first config
// file of the net dir in name order (libcni's order), so Weft's entry goes at the end of that file's
// plugin list, after the cluster's network plugin, as istio-cni's chained mode does. A single-plugin
// `.conf` becomes a `.conflist`. Installing twice leaves one entry; removing leaves the rest as it was.
import { CNI_PLUGIN_TYPE, type CniPluginConf } from './cni.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const CNI_CONFIG_FILE = /\.(conflist|conf|json)$/;

/** The file the runtime uses: the first CNI config file by name. */
export function primaryConfigFile(names: readonly string[]): string | undefined {
  return names.filter((n) => CNI_CONFIG_FILE.test(n) && !n.startsWith('.')).sort()[0];
}

/** The conflist with Weft's entry last (any earlier Weft entry removed). `file` names errors. */
export function chainPlugin(text: string, file: string, plugin: CniPluginConf): Json {
  const list = asConflist(text, file);
  return { ...list, plugins: [...withoutWeft(list.plugins as Json[]), plugin] };
}

/** The conflist without Weft's entries; undefined when it had none. */
export function unchainPlugin(text: string, file: string): Json | undefined {
  const list = asConflist(text, file);
  const rest = withoutWeft(list.plugins as Json[]);
  return rest.length === (list.plugins as Json[]).length ? undefined : { ...list, plugins: rest };
}

const withoutWeft = (plugins: Json[]): Json[] => plugins.filter((p) => p.type !== CNI_PLUGIN_TYPE);

function asConflist(text: string, file: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  if (!isObj(v)) throw new Error(`${file}: a CNI config must be a JSON object`);
  if (v.plugins === undefined) {
    // A .conf: one plugin, with the list's own fields (cniVersion, name) on it.
    if (typeof v.type !== 'string') throw new Error(`${file}: neither a conflist (plugins) nor a plugin config (type)`);
    const { cniVersion, name, ...plugin } = v;
    return { cniVersion, name, plugins: [plugin] };
  }
  if (!Array.isArray(v.plugins) || !v.plugins.every(isObj)) throw new Error(`${file}: plugins must be a list of objects`);
  if (v.plugins.filter((p) => p.type !== CNI_PLUGIN_TYPE).length === 0) throw new Error(`${file}: no network plugin to chain after`);
  return v;
}
