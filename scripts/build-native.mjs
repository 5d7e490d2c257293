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
// The first compiler that works: $CC, cc, clang (the CI image installs clang), gcc.
const compilers = [...new Set([process.env.CC, 'cc', 'clang', 'gcc'].filter(Boolean))];
fs.mkdirSync(path.dirname(out), { recursive: true });
const failures = [];
for (const cc of compilers) {
  try {
    // N-API symbols resolve against the running node at load time, hence no -l flags.
    execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-std=c11', '-D_DEFAULT_SOURCE', `-I${includes[0]}`, '-o', out, src], { stdio: ['ignore', 'inherit', 'pipe'] });
    say(`built ${path.relative(root, out)} with ${cc}`);
    process.exit(0);
  } catch (err) {
    failures.push(`${cc}: ${err.code === 'ENOENT' ? 'not found' : (err.stderr?.toString().trim() || err.message)}`);
  }
}
say(`cannot build the SO_ORIGINAL_DST addon (${failures.join('; ')}); transparent proxy mode will be unavailable`);
