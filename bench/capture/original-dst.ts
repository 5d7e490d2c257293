// The cost of one SO_ORIGINAL_DST lookup, measured on a real redirected socket: the N-API addon
// (native/original_dst.c, what the proxy uses) against the koffi FFI package (when KOFFI_DIR names a
// directory where `npm install koffi` ran — it is not a dependency). Root only: it makes a network
// namespace wt-<pid>-odst with one iptables REDIRECT rule, runs itself inside it, and deletes it.
// Usage: KOFFI_DIR=/tmp/koffi-bench node dist/bench/capture/original-dst.js [calls=200000]
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeOriginalDst, readOriginalDst, socketFd } from '../../src/proxy/listener/original-dst.js';

const CALLS = Number(process.argv[2] ?? 200_000);
const ROUNDS = 9;
const TARGET = '198.18.0.99';
const SOL_IP = 0;
const SO_ORIGINAL_DST = 80;

function parent(): void {
  const ns = `wt-${process.pid}-odst`;
  const inNs = (cmd: string, args: string[]) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'inherit' });
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    inNs('ip', ['link', 'set', 'lo', 'up']);
    inNs('ip', ['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);
    inNs('ip', ['addr', 'add', '198.18.0.2/24', 'dev', 'veth0']);
    inNs('ip', ['link', 'set', 'veth0', 'up']);
    inNs('iptables-nft', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', `${TARGET}/32`, '-j', 'REDIRECT', '--to-ports', '15001']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), String(CALLS), '--child'], { stdio: 'inherit', env: process.env });
    process.exitCode = r.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

/** ns per call for each method, rounds interleaved (A B A B …) so machine load hits all alike; the
 * minimum is the least-disturbed round, the median the typical one. */
function measure(methods: { label: string; call: () => number }[]): void {
  for (const m of methods) for (let i = 0; i < 10_000; i++) if (m.call() !== 0) throw new Error(`${m.label}: the call failed`);
  const perCall = methods.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    methods.forEach((m, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) m.call();
      perCall[k].push(Number(process.hrtime.bigint() - t0) / CALLS);
    });
  }
  methods.forEach((m, k) => {
    const v = perCall[k].sort((a, b) => a - b);
    console.log(`${m.label.padEnd(44)} min ${v[0].toFixed(0).padStart(5)} ns  median ${v[ROUNDS >> 1].toFixed(0).padStart(5)} ns  (${CALLS} calls × ${ROUNDS} rounds)`);
  });
}

async function child(): Promise<void> {
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((s) => {
      server.close();
      resolve(s);
    });
    server.listen(15001, '0.0.0.0');
  });
  await new Promise((r) => setTimeout(r, 50));
  const client = net.connect(80, TARGET);
  const socket = await accepted;
  const fd = socketFd(socket);
  if (fd === undefined) throw new Error('no fd on the accepted socket');
  const buf = new Uint8Array(18);
  if (readOriginalDst(fd, false, buf) !== 0) throw new Error('the addon found no original destination');
  console.log(`original destination: ${JSON.stringify(decodeOriginalDst(buf, false))}`);
  const methods = [
    { label: 'N-API addon (readOriginalDst)', call: () => readOriginalDst(fd, false, buf) },
    { label: 'N-API addon + decode to {address, port}', call: () => (decodeOriginalDst(buf, false), readOriginalDst(fd, false, buf)) },
  ];
  const dir = process.env.KOFFI_DIR;
  if (!dir) console.log('koffi: skipped (set KOFFI_DIR to a directory where `npm install koffi` ran)');
  else {
    const koffi = createRequire(`${dir}/`)('koffi') as {
      version: string;
      load(lib: string): { func(sig: string): (...a: unknown[]) => number };
    };
    const getsockopt = koffi.load('libc.so.6').func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)');
    const sa = Buffer.alloc(16);
    const len = new Uint32Array([16]);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, sa, len) !== 0) throw new Error('koffi: getsockopt failed');
    console.log(`koffi ${koffi.version}: sockaddr_in port ${sa.readUInt16BE(2)} address ${[...sa.subarray(4, 8)].join('.')}`);
    methods.push({
      label: `koffi ${koffi.version} getsockopt`,
      call: () => {
        len[0] = 16;
        return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, sa, len);
      },
    });
  }
  measure(methods);
  client.destroy();
  socket.destroy();
}

if (process.argv.includes('--child')) await child();
else parent();
