// Capture settings: what `weft iptables` flags and the weft-cni plugin config both describe, parsed once
// into a typed value (Istio's istio-iptables meanings). Every error names the flag or field it came from.
import net from 'node:net';

import { CaptureError } from './errors.js';

export type Backend = 'nft' | 'legacy';
export type Ipv6Mode = 'auto' | 'on' | 'off';

export interface Cidr {
  family: 4 | 6;
  /** As iptables prints it: address/prefix. */
  text: string;
}

export interface CaptureSettings {
  outboundPort: number;
  inboundPort: number;
  proxyUid: number;
  proxyGid: number;
  /** '*' = every inbound port, [] = capture no inbound. */
  includeInboundPorts: '*' | number[];
  excludeInboundPorts: number[];
  includeOutboundCidrs: '*' | Cidr[];
  excludeOutboundCidrs: Cidr[];
  includeOutboundPorts: number[];
  excludeOutboundPorts: number[];
  excludeInterfaces: string[];
  /** The proxy's DNS port when DNS capture is on. */
  dnsPort: number | undefined;
  ipv6: Ipv6Mode;
  backend: Backend;
}

/** Settings as they arrive: flag strings, or JSON values from a CNI config. */
export type RawValue = string | number | boolean | readonly (string | number)[] | undefined;
export interface RawCaptureSettings {
  outboundPort?: RawValue;
  inboundPort?: RawValue;
  proxyUid?: RawValue;
  proxyGid?: RawValue;
  includeInboundPorts?: RawValue;
  excludeInboundPorts?: RawValue;
  includeOutboundCidrs?: RawValue;
  excludeOutboundCidrs?: RawValue;
  includeOutboundPorts?: RawValue;
  excludeOutboundPorts?: RawValue;
  excludeInterfaces?: RawValue;
  captureDns?: RawValue;
  dnsPort?: RawValue;
  ipv6?: RawValue;
  iptablesLegacy?: RawValue;
}

export const CAPTURE_DEFAULTS = {
  outboundPort: 15001,
  inboundPort: 15006,
  proxyUid: 1337,
  proxyGid: 1337,
  dnsPort: 15053,
} as const;

/**
 * Ports of the proxy itself that inbound capture never redirects, whatever the lists say: its admin
 * (15000), merged metrics and health (15020), readiness (15021) and Prometheus (15090) ports, besides
 * the two capture ports and the DNS port, which are added from the settings.
 */
export const PROXY_OWN_PORTS = [15000, 15020, 15021, 15090] as const;

/** Names a setting in an error: a flag (`--include-inbound-ports`) or a config field. */
export type NameSetting = (key: keyof RawCaptureSettings) => string;

const list = (v: RawValue): string[] => {
  if (v === undefined || v === '') return [];
  const items = Array.isArray(v) ? v.map(String) : String(v).split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
};

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}\+?$/;

export function parseCaptureSettings(raw: RawCaptureSettings, name: NameSetting): CaptureSettings {
  const errors: string[] = [];
  const fail = (key: keyof RawCaptureSettings, message: string) => errors.push(`${name(key)}: ${message}`);

  const integer = (key: keyof RawCaptureSettings, fallback: number, min: number, max: number, what: string): number => {
    const v = raw[key];
    if (v === undefined || v === '') return fallback;
    const s = String(v).trim();
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= min && n <= max)) {
      fail(key, `${JSON.stringify(v)} is not ${what} (${min}-${max})`);
      return fallback;
    }
    return n;
  };
  const port = (key: keyof RawCaptureSettings, fallback: number) => integer(key, fallback, 1, 65535, 'a port');
  const ports = (key: keyof RawCaptureSettings, allowStar: boolean): '*' | number[] => {
    const items = list(raw[key]);
    if (allowStar && items.length === 1 && items[0] === '*') return '*';
    const out: number[] = [];
    for (const item of items) {
      const n = /^\d+$/.test(item) ? Number(item) : NaN;
      if (n >= 1 && n <= 65535) {
        if (!out.includes(n)) out.push(n);
      } else fail(key, `${JSON.stringify(item)} is not a port (1-65535)${allowStar ? " or '*'" : ''}`);
    }
    return out;
  };
  const portList = (key: keyof RawCaptureSettings): number[] => ports(key, false) as number[];
  const cidrs = (key: keyof RawCaptureSettings, allowStar: boolean): '*' | Cidr[] => {
    const items = list(raw[key]);
    if (allowStar && items.length === 1 && items[0] === '*') return '*';
    const out: Cidr[] = [];
    for (const item of items) {
      const c = parseCidr(item);
      if (c) out.push(c);
      else fail(key, `${JSON.stringify(item)} is not a CIDR (address/prefix, IPv4 or IPv6)${allowStar ? " or '*'" : ''}`);
    }
    return out;
  };
  const bool = (key: keyof RawCaptureSettings): boolean => {
    const v = raw[key];
    if (v === undefined || v === false || v === 'false' || v === '') return false;
    if (v === true || v === 'true') return true;
    fail(key, `${JSON.stringify(v)} is not true or false`);
    return false;
  };

  const outboundPort = port('outboundPort', CAPTURE_DEFAULTS.outboundPort);
  const inboundPort = port('inboundPort', CAPTURE_DEFAULTS.inboundPort);
  const proxyUid = integer('proxyUid', CAPTURE_DEFAULTS.proxyUid, 0, 4294967294, 'a uid');
  const proxyGid = integer('proxyGid', CAPTURE_DEFAULTS.proxyGid, 0, 4294967294, 'a gid');
  const includeInboundPorts = raw.includeInboundPorts === undefined ? '*' : ports('includeInboundPorts', true);
  const excludeInboundPorts = portList('excludeInboundPorts');
  const includeOutboundCidrs = raw.includeOutboundCidrs === undefined ? '*' : cidrs('includeOutboundCidrs', true);
  const excludeOutboundCidrs = cidrs('excludeOutboundCidrs', false) as Cidr[];
  const includeOutboundPorts = portList('includeOutboundPorts');
  const excludeOutboundPorts = portList('excludeOutboundPorts');
  const excludeInterfaces = list(raw.excludeInterfaces);
  for (const i of excludeInterfaces) if (!IFNAME.test(i)) fail('excludeInterfaces', `${JSON.stringify(i)} is not an interface name (at most 15 of A-Z a-z 0-9 _ . : @ -, optionally ending in +)`);
  const captureDns = bool('captureDns');
  const dnsPort = port('dnsPort', CAPTURE_DEFAULTS.dnsPort);
  const ipv6 = raw.ipv6 === undefined || raw.ipv6 === '' ? 'auto' : String(raw.ipv6);
  if (ipv6 !== 'auto' && ipv6 !== 'on' && ipv6 !== 'off') fail('ipv6', `${JSON.stringify(raw.ipv6)} is not auto, on or off`);
  const legacy = bool('iptablesLegacy');
  if (outboundPort === inboundPort) fail('inboundPort', `${inboundPort} is also the outbound port; the two capture ports must differ`);

  if (errors.length) throw new CaptureError('WEFT_E_CAPTURE_BAD_SETTING', errors.join('; '));
  return {
    outboundPort,
    inboundPort,
    proxyUid,
    proxyGid,
    includeInboundPorts,
    excludeInboundPorts,
    includeOutboundCidrs,
    excludeOutboundCidrs,
    includeOutboundPorts,
    excludeOutboundPorts,
    excludeInterfaces,
    dnsPort: captureDns ? dnsPort : undefined,
    ipv6: ipv6 as Ipv6Mode,
    backend: legacy ? 'legacy' : 'nft',
  };
}

/** `a.b.c.d/n`, `a:b::/n`, or a bare address (a host route). */
export function parseCidr(s: string): Cidr | undefined {
  const [addr = '', prefix, extra] = s.split('/');
  if (extra !== undefined) return undefined;
  const family = net.isIP(addr);
  if (family !== 4 && family !== 6) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = prefix === undefined ? max : Number(prefix);
  if (bits > max) return undefined;
  return { family, text: `${addr}/${bits}` };
}
