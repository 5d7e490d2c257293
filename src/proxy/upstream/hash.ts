// The hash every consistent-hash balancer and hash policy shares: MurmurHash3 x86_32 over the
// UTF-8 bytes of a key. Envoy's default is xxHash64; bit-for-bit agreement with Envoy is not a goal
// (no key crosses from one proxy's ring to another's), but the properties the balancers rely on are:
// a good avalanche (similar keys such as "10.0.0.1:80_0" and "…_1" land far apart) and speed on
// short keys. 32 bits are enough: a ring holds at most 8M entries (Envoy's cap), where collisions
// only shift a few points by one slot.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export function murmur3(key: string, seed = 0): number {
  const data = Buffer.from(key, 'utf8');
  const n = data.length;
  let h = seed >>> 0;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[blocks + 2] << 16;
    if (tail >= 2) k ^= data[blocks + 1] << 8;
    k ^= data[blocks];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n;
  return fmix32(h);
}

/** Murmur3's finalizer: spreads the bits of a 32-bit value (also used to combine hashes). */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two hashes into one, order-sensitive (Envoy combines several hash policies the same way: rotate, xor). */
export function combineHashes(a: number, b: number): number {
  return fmix32((((a << 1) | (a >>> 31)) ^ b) >>> 0);
}
