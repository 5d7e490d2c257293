// Where the tests find the repository and the shared real-world fixtures (../shared/fixtures beside the
// clone, as CI lays it out; WEFT_FIXTURES_DIR overrides).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repo root, from dist/test/helpers/paths.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = process.env.WEFT_FIXTURES_DIR ?? path.resolve(repoRoot, '../shared/fixtures');
if (!fs.existsSync(fixturesDir))
  throw new Error(`fixtures not found at ${fixturesDir}: the tests read ../shared/fixtures beside the repository (or set WEFT_FIXTURES_DIR)`);
