// Weft's version, read once from the package's own package.json (dist/src/api → the package root).
import fs from 'node:fs';

export const WEFT_VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
