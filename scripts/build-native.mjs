// The package's own `install` step: compiles native/original_dst.c (SO_ORIGINAL_DST for transparent
// proxy mode) into native/build/original_dst.node with the system C compiler and Node's own headers.
// No network, no node-gyp. Never fails the install: explicit mode needs no native code, and
// `weft proxy --mode transparent` refuses to start, saying why, when the addon is missing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native/original_dst.c');
const out = path.join(root, 'native/build/original_dst.node');
const say = (msg) => process.stderr.write(`weft install: ${msg}\n`);

if (process.platform !== 'linux') {
  say(`skipping the SO_ORIGINAL_DST addon on ${process.platform} (Linux only; transparent proxy mode is unavailable here)`);
  process.exit(0);
}
// Node's headers: beside the running binary (official tarballs, nvm) or Debian's /usr/include/node.
const includes = [path.resolve(path.dirname(process.execPath), '../include/node'), '/usr/include/node'].filter((d) => fs.existsSync(path.join(d, 'node_api.h')));
if (includes.length === 0) {
  say('node_api.h not found (looked beside node and in /usr/include/node); transparent proxy mode will be unavailable');
  process.exit(0);
}
const cc = process.env.CC || 'cc';
fs.mkdirSync(path.dirname(out), { recursive: true });
try {
  // N-API symbols resolve against the running node at load time, hence no -l flags.
  execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-std=c11', '-D_DEFAULT_SOURCE', `-I${includes[0]}`, '-o', out, src], { stdio: 'inherit' });
  say(`built ${path.relative(root, out)}`);
} catch (err) {
  say(`cannot build the SO_ORIGINAL_DST addon with ${cc}: ${err.message}; transparent proxy mode will be unavailable`);
}
