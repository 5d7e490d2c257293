// Repeatable randomness for balancer tests.

/** A seeded generator in [0, 1) (mulberry32: 32-bit integer steps, so no floating-point precision is
 * lost, unlike a textbook LCG multiplied in doubles): the same seed, the same sequence. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
