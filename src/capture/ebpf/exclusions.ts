// Istio's include/exclude flags for eBPF capture, with istio-iptables' meanings: outbound ports and
// CIDRs that go direct, inbound ports left alone, or the only inbound ports captured ('*': all but
// the proxy's own 15000-15090). Parsed once at the edge; written into the install's weft_ports and
// weft_skip_cidrs maps before any program is attached, so there is no moment without them.
import os from 'node:os';
import { isIP } from 'node:net';
import path from 'node:path';

import { ipBytes } from '../../proxy/xds/validate-matchers.js';
import type { Bpftool } from './bpftool.js';
import { EbpfError } from './errors.js';

export interface CaptureExclusions {
  excludeOutboundPorts: number[];
  /** Normalised "ip/prefix" strings. */
  excludeOutboundCidrs: string[];
  excludeInboundPorts: number[];
  includeInboundPorts: '*' | number[];
}

export const NO_EXCLUSIONS: CaptureExclusions = { excludeOutboundPorts: [], excludeOutboundCidrs: [], excludeInboundPorts: [], includeInboundPorts: '*' };

/** Bits of a weft_ports entry (weft_capture.c). */
const EXCLUDE_OUTBOUND = 1;
const EXCLUDE_INBOUND = 2;
const INCLUDE_INBOUND = 4;
const MAX_CIDRS = 256;

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function ports(flag: string, v: string | undefined): number[] {
  return list(v).map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `${flag}: ${JSON.stringify(p)} is not a port (1-65535)`);
    return n;
  });
}

function cidrs(flag: string, v: string | undefined): string[] {
  const out = list(v).map((c) => {
    const [ip = '', len, extra] = c.split('/');
    const family = isIP(ip);
    const max = family === 4 ? 32 : 128;
    const prefix = len === undefined ? max : Number(len);
    if (!family || extra !== undefined || !/^\d*$/.test(len ?? '') || !(prefix >= 0 && prefix <= max))
      throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `${flag}: ${JSON.stringify(c)} is not an IPv4 or IPv6 CIDR`);
    return `${ip}/${prefix}`;
  });
  if (out.length > MAX_CIDRS) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `${flag}: ${out.length} CIDRs, at most ${MAX_CIDRS}`);
  return out;
}

export function parseExclusions(f: { excludeOutboundPorts?: string; excludeOutboundCidrs?: string; excludeInboundPorts?: string; includeInboundPorts?: string }): CaptureExclusions {
  const include = (f.includeInboundPorts ?? '*').trim();
  return {
    excludeOutboundPorts: ports('--exclude-outbound-ports', f.excludeOutboundPorts),
    excludeOutboundCidrs: cidrs('--exclude-outbound-cidrs', f.excludeOutboundCidrs),
    excludeInboundPorts: ports('--exclude-inbound-ports', f.excludeInboundPorts),
    includeInboundPorts: include === '*' ? '*' : ports('--include-inbound-ports', include),
  };
}

const u32 = (n: number): number[] => {
  const b = Buffer.alloc(4);
  if (os.endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return [...b];
};
const hex = (bytes: number[]): string[] => ['hex', ...bytes.map((x) => x.toString(16).padStart(2, '0'))];

/** The LPM key of a CIDR: IPv4 as v4-mapped IPv6, so one trie serves both families. */
export function cidrKey(cidr: string): number[] {
  const [ip = '', len = ''] = cidr.split('/');
  const family = isIP(ip) as 4 | 6;
  const bytes = [...ipBytes(ip, family, Number(len))];
  return family === 4 ? [...u32(96 + Number(len)), ...Array(10).fill(0), 0xff, 0xff, ...bytes] : [...u32(Number(len)), ...bytes];
}

export async function writeExclusions(bpftool: Bpftool, mapDir: string, x: CaptureExclusions): Promise<void> {
  const flags = new Map<number, number>();
  const set = (port: number, bit: number) => flags.set(port, (flags.get(port) ?? 0) | bit);
  for (const p of x.excludeOutboundPorts) set(p, EXCLUDE_OUTBOUND);
  for (const p of x.excludeInboundPorts) set(p, EXCLUDE_INBOUND);
  if (x.includeInboundPorts !== '*') {
    set(0, INCLUDE_INBOUND);
    for (const p of x.includeInboundPorts) set(p, INCLUDE_INBOUND);
  }
  const ports = path.join(mapDir, 'weft_ports');
  for (const [port, bits] of flags) await bpftool.run(['map', 'update', 'pinned', ports, 'key', ...hex(u32(port)), 'value', ...hex([bits])]);
  const skip = path.join(mapDir, 'weft_skip_cidrs');
  for (const c of x.excludeOutboundCidrs) await bpftool.run(['map', 'update', 'pinned', skip, 'key', ...hex(cidrKey(c)), 'value', ...hex([1])]);
}
