// Run counts and seeds for the fuzz tests. `npm test` runs a small, fixed-seed budget so a run is
// reproducible and quick; `FUZZ_RUNS=100000 npm run fuzz` runs many more cases with a fresh seed
// unless FUZZ_SEED pins one. fast-check prints the seed and the shrunk counterexample's path on a
// failure: replay it with FUZZ_SEED=<seed> (and the path, FUZZ_PATH=<path>).
import type { Parameters } from 'fast-check';

const envRuns = Number(process.env.FUZZ_RUNS);
const scale = Number.isInteger(envRuns) && envRuns > 0 ? envRuns : undefined;

/** `base` cases in npm test; with FUZZ_RUNS, that many (`share` of it for slower targets). */
export function fuzzParams<T>(base: number, share = 1): Parameters<T> {
  const numRuns = scale === undefined ? base : Math.max(1, Math.round(scale * share));
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : scale === undefined ? 0x5eed : undefined;
  // The failing assertion's message goes in the report (the test runner does not print causes).
  const params: Parameters<T> = { numRuns, includeErrorInReport: true };
  if (seed !== undefined) params.seed = seed;
  if (process.env.FUZZ_PATH) params.path = process.env.FUZZ_PATH;
  return params;
}

/** Whether this is a long fuzzing run (the test runner's timeout is lifted for it). */
export const longRun = scale !== undefined;
export const fuzzTimeout = longRun ? Infinity : 60_000;
