// Hand-written protobuf framing for DiscoveryResponse, the control plane's hot path: the same encoded
// resources go to hundreds of proxies, so each Any is framed once (cached per object) and a response
// is a concatenation of bytes. protobufjs would rebuild and re-encode every Any for every proxy
// (measured in bench/: most of the control plane's CPU at 1,000 proxies). Field numbers from
// envoy/service/discovery/v3/discovery.proto: version_info = 1, resources = 2, type_url = 4, nonce = 5;
// DeltaDiscoveryResponse: system_version_info = 1, resources = 2, type_url = 4, nonce = 5,
// removed_resources = 6; Resource: version = 1, resource = 2, name = 3, aliases = 4.
import type { AnyWire, DeltaDiscoveryResponseWire, DiscoveryResponseWire, ResourceWire } from './envoy.js';

const framedAny = new WeakMap<AnyWire, Buffer>();

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** tag + length + bytes of one length-delimited field. */
function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + varintLength(bytes.length) + bytes.length);
  let o = writeVarint(out, 0, (field << 3) | 2);
  o = writeVarint(out, o, bytes.length);
  out.set(bytes, o);
  return out;
}

/** The bytes of `resources` entry for one Any (field 2 of DiscoveryResponse, framed). */
function framed(any: AnyWire): Buffer {
  let f = framedAny.get(any);
  if (!f) {
    const body = Buffer.concat([lengthDelimited(1, Buffer.from(any.type_url)), lengthDelimited(2, any.value)]);
    f = lengthDelimited(2, body);
    framedAny.set(any, f);
  }
  return f;
}

export function encodeDiscoveryResponse(r: DiscoveryResponseWire): Buffer {
  const parts: Buffer[] = [];
  if (r.version_info) parts.push(lengthDelimited(1, Buffer.from(r.version_info)));
  for (const any of r.resources) parts.push(framed(any));
  if (r.type_url) parts.push(lengthDelimited(4, Buffer.from(r.type_url)));
  if (r.nonce) parts.push(lengthDelimited(5, Buffer.from(r.nonce)));
  return Buffer.concat(parts);
}

/** A delta Resource without aliases, framed once per (Any, name, version): every proxy subscribed to
 * a changed resource gets the same bytes. */
const framedResource = new WeakMap<AnyWire, { name: string; version: string; bytes: Buffer }>();

function resourceBody(r: ResourceWire): Buffer {
  const parts: Buffer[] = [];
  if (r.version) parts.push(lengthDelimited(1, Buffer.from(r.version)));
  if (r.resource) parts.push(lengthDelimited(2, Buffer.concat([lengthDelimited(1, Buffer.from(r.resource.type_url)), lengthDelimited(2, r.resource.value)])));
  if (r.name) parts.push(lengthDelimited(3, Buffer.from(r.name)));
  for (const a of r.aliases) parts.push(lengthDelimited(4, Buffer.from(a)));
  return Buffer.concat(parts);
}

function framedDeltaResource(r: ResourceWire): Buffer {
  if (!r.resource || r.aliases.length) return lengthDelimited(2, resourceBody(r));
  const cached = framedResource.get(r.resource);
  if (cached && cached.name === r.name && cached.version === r.version) return cached.bytes;
  const bytes = lengthDelimited(2, resourceBody(r));
  framedResource.set(r.resource, { name: r.name, version: r.version, bytes });
  return bytes;
}

export function encodeDeltaDiscoveryResponse(r: DeltaDiscoveryResponseWire): Buffer {
  const parts: Buffer[] = [];
  if (r.system_version_info) parts.push(lengthDelimited(1, Buffer.from(r.system_version_info)));
  for (const res of r.resources) parts.push(framedDeltaResource(res));
  if (r.type_url) parts.push(lengthDelimited(4, Buffer.from(r.type_url)));
  if (r.nonce) parts.push(lengthDelimited(5, Buffer.from(r.nonce)));
  for (const name of r.removed_resources) parts.push(lengthDelimited(6, Buffer.from(name)));
  return Buffer.concat(parts);
}
