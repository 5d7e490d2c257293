// Repeatable randomness for balancer tests.

/** A linear congruential generator in [0, 1): the same seed, the same sequence. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}
