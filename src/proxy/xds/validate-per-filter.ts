// typed_per_filter_config on routes and virtual hosts → PerFilterConfig: each entry is parsed by the
// filter type its Any names (through the HTTP filter registry), kept under the filter name it is
// keyed by. An entry no registered type understands is a NACK unless marked optional.
import { httpFilterTypes, perRouteFilterTypes } from '../http/filters/registry.js';
import { noPerFilterConfig, type PerFilterConfig, type PerFilterEntry } from './model.js';
import { anyTypeUrl, join, obj, type Problems } from './validate-common.js';

const FILTER_CONFIG_WRAPPER = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

export function perFilterConfig(v: unknown, path: string, p: Problems): PerFilterConfig {
  const map = obj(v);
  const names = Object.keys(map);
  if (names.length === 0) return noPerFilterConfig;
  const out = new Map<string, PerFilterEntry>();
  for (const name of names) {
    let at = `${join(path, 'typed_per_filter_config')}[${JSON.stringify(name)}]`;
    let cfg = obj(map[name]);
    let optional = false;
    if (anyTypeUrl(cfg) === FILTER_CONFIG_WRAPPER) {
      // The FilterConfig wrapper can mark per-route config optional, or disable the filter here.
      if (cfg.disabled === true) p.add(join(at, 'disabled'), 'not supported');
      optional = cfg.is_optional === true;
      cfg = obj(cfg.config);
      at = join(at, 'config');
    }
    const typeUrl = anyTypeUrl(cfg);
    const type = httpFilterTypes.get(typeUrl) ?? perRouteFilterTypes.get(typeUrl);
    if (!type?.parsePerRoute) {
      if (!optional) p.add(at, `unsupported per-filter config type ${typeUrl || '(none)'}`);
      continue;
    }
    out.set(name, { typeUrl, config: type.parsePerRoute(cfg, at, p) });
  }
  return out;
}
