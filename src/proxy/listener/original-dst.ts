// SO_ORIGINAL_DST: where a connection was going before iptables REDIRECT (or DNAT) sent it to this
// proxy — getsockopt(fd, SOL_IP, 80) → sockaddr_in, or SOL_IPV6/80 (IP6T_SO_ORIGINAL_DST) →
// sockaddr_in6. Node has no API for it, so a small N-API addon of our own does the call
// (native/original_dst.c, built by the package's `install` script; docs/capture.md says why this
// and not an FFI package). Only transparent mode needs it: it checks originalDstSupport() at start.
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProxyError } from '../errors.js';

export interface OriginalDestination {
  /** Dotted IPv4, or IPv6 text (never v4-mapped). */
  address: string;
  port: number;
}

interface Addon {
  originalDst(fd: number, ipv6: boolean, out: Uint8Array): number;
}

/** From dist/src/proxy/listener/ (or src/proxy/listener/ under a TS loader) up to the package root. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (path.basename(dir) === 'src' && path.basename(path.dirname(dir)) === 'dist') return path.dirname(path.dirname(dir));
    if (path.basename(dir) === 'src') return path.dirname(dir);
    dir = path.dirname(dir);
  }
  return dir;
}

/** Where the addon is: native/build/ of this package, or WEFT_ORIGINAL_DST_ADDON (a packager's
 * prebuilt copy; tests point it at nothing to see the refusal). */
export const ADDON_PATH = process.env.WEFT_ORIGINAL_DST_ADDON || path.join(packageRoot(), 'native/build/original_dst.node');

let loaded: { addon: Addon } | { error: string } | undefined;

function load(): { addon: Addon } | { error: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { error: `SO_ORIGINAL_DST exists on Linux only (this is ${process.platform})` });
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    if (typeof addon.originalDst !== 'function') return (loaded = { error: `${ADDON_PATH} exports no originalDst()` });
    loaded = { addon };
  } catch (err) {
    loaded = { error: `cannot load ${ADDON_PATH}: ${(err as Error).message.split('\n')[0]} (run \`npm install\`, or \`node scripts/build-native.mjs\`, with a C compiler and Node's headers)` };
  }
  return loaded;
}

/** undefined when original destinations can be read here; otherwise why not. */
export function originalDstSupport(): string | undefined {
  const l = load();
  return 'error' in l ? l.error : undefined;
}

/** Throws WEFT_E_ORIGINAL_DST_UNAVAILABLE, saying why, when transparent mode cannot run here. */
export function requireOriginalDst(): void {
  const why = originalDstSupport();
  if (why) throw new ProxyError('WEFT_E_ORIGINAL_DST_UNAVAILABLE', `transparent mode needs SO_ORIGINAL_DST: ${why} [WEFT_E_ORIGINAL_DST_UNAVAILABLE]`);
}

/** The socket's file descriptor. `_handle.fd` is a private field of Node's TCP wrap (stable on Linux
 * since Node 0.x, not part of the API): it is checked, and a socket without one has no original
 * destination rather than a crash. */
export function socketFd(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

const out = new Uint8Array(18);

/** The raw call: 0 and `out` filled, or the errno (ENOENT = 2: not redirected). Exported for the bench. */
export function readOriginalDst(fd: number, ipv6: boolean, buf: Uint8Array = out): number {
  const l = load();
  if ('error' in l) return -1;
  return l.addon.originalDst(fd, ipv6, buf);
}

/** The original destination of an accepted connection; undefined when it was not redirected (a
 * direct connection to the listener), the socket is gone, or the addon is missing. */
export function originalDestination(socket: net.Socket): OriginalDestination | undefined {
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  // The socket's own family decides the level: an IPv4 connection (even v4-mapped on a dual-stack
  // socket) was redirected by iptables, an IPv6 one by ip6tables.
  const local = socket.localAddress ?? '';
  const ipv6 = local.includes(':') && !local.startsWith('::ffff:');
  if (readOriginalDst(fd, ipv6) !== 0) return undefined;
  return decodeOriginalDst(out, ipv6);
}

/** Port (network order) then address bytes, as the addon fills them. */
export function decodeOriginalDst(buf: Uint8Array, ipv6: boolean): OriginalDestination {
  const port = (buf[0] << 8) | buf[1];
  if (!ipv6) return { address: `${buf[2]}.${buf[3]}.${buf[4]}.${buf[5]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((buf[2 + 2 * i] << 8) | buf[3 + 2 * i]).toString(16));
  return { address: compressIpv6(groups), port };
}

/** RFC 5952 text: the longest run (≥ 2) of zero groups becomes `::`. */
function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
