// Service VIPs: the address an app resolves a service name to, which a transparent sidecar's
// per-service TCP listeners key on (Kubernetes' ClusterIP; Istio's auto-allocated ServiceEntry
// addresses, 240.240.0.0/16 by default). A service declared with `addresses` keeps them; every other
// named host gets one address from the configured range, chosen by a hash of its hostname — stable
// per name, not by the order services were seen, so a restart or another service's arrival does not
// renumber the mesh. Two names hashing to one slot: the smaller hash (then name) keeps it, the other
// probes the next free slot.
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** Istio's auto-allocation range for ServiceEntries (istiod's DNS auto-allocate). */
export const DEFAULT_VIP_RANGE = '240.240.0.0/16';

export interface VipRange {
  /** The range as written (CIDR). */
  cidr: string;
  /** First and last usable host addresses, as integers. */
  first: number;
  size: number;
}

export type VipRangeParse = { ok: true; range: VipRange } | { ok: false; error: string };

/** An IPv4 CIDR of at most /30 (a /31 or /32 leaves no host addresses to hand out). */
export function parseVipRange(cidr: string): VipRangeParse {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m || !isIPv4(m[1])) return { ok: false, error: `${JSON.stringify(cidr)} is not an IPv4 CIDR such as ${DEFAULT_VIP_RANGE}` };
  const len = Number(m[2]);
  if (len < 8 || len > 30) return { ok: false, error: `${JSON.stringify(cidr)}: the prefix length must be 8..30, got ${len}` };
  const base = ipToInt(m[1]);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((base & ~mask) >>> 0 !== 0) return { ok: false, error: `${JSON.stringify(cidr)} has host bits set (did you mean ${intToIp((base & mask) >>> 0)}/${len}?)` };
  // Skip the network and broadcast addresses, as a ClusterIP range does.
  return { ok: true, range: { cidr, first: base + 1, size: 2 ** (32 - len) - 2 } };
}

export const defaultVipRange = (parseVipRange(DEFAULT_VIP_RANGE) as { ok: true; range: VipRange }).range;

/** One address per hostname (hostnames need not be sorted or unique); throws if the range is full. */
export function allocateVips(hostnames: Iterable<string>, range: VipRange, taken: ReadonlySet<string> = new Set()): Map<string, string> {
  const wanted = [...new Set(hostnames)].map((h) => ({ h, slot: slotOf(h, range.size) }));
  if (wanted.length + taken.size > range.size) throw new Error(`service VIP range ${range.cidr} has ${range.size} addresses; ${wanted.length} services need one`);
  // Who keeps a contested slot depends only on the names contesting it, never on arrival order.
  wanted.sort((a, b) => a.slot - b.slot || (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
  const used = new Set<number>();
  const out = new Map<string, string>();
  for (const { h, slot } of wanted) {
    let s = slot;
    while (used.has(s) || taken.has(intToIp(range.first + s))) s = (s + 1) % range.size;
    used.add(s);
    out.set(h, intToIp(range.first + s));
  }
  return out;
}

function slotOf(hostname: string, size: number): number {
  return createHash('sha256').update(hostname).digest().readUInt32BE(0) % size;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
