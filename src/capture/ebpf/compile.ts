// Builds the capture object from the C source shipped in the package, at install or first use (never
// a committed object): clang -target bpf -O2 -g, with the install's UID, port and map size as -D
// values. Objects are cached by a hash of source, defines and clang's version, so a second install
// with the same settings loads the same bytes without compiling again.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { EbpfError } from './errors.js';
import type { Toolchain } from './preflight.js';
import { CAPTURE_SOURCE } from './programs.js';

const run = promisify(execFile);

export interface CaptureSettings {
  /** Connections from this UID are never redirected (the proxy's own outbound traffic). */
  proxyUid: number;
  /** The proxy's outbound capture port on 127.0.0.1 / ::1. */
  outboundPort: number;
  /** The proxy's inbound capture port (tc redirects inbound connections to it). */
  inboundPort: number;
  /** max_entries of each map. */
  maxConnections: number;
}

export interface BuiltObject {
  object: string;
  /** True when the object came from the cache. */
  cached: boolean;
}

/** The C source: beside this module in src/, found from dist/ too (tsc does not copy .c files). */
export function captureSource(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'bpf', CAPTURE_SOURCE), path.resolve(here, '../../../../src/capture/ebpf/bpf', CAPTURE_SOURCE)];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new EbpfError('WEFT_E_EBPF_TOOL_MISSING', `the capture source ${CAPTURE_SOURCE} is not in the package (looked in ${candidates.join(', ')})`);
  return found;
}

export const defaultCacheDir = (): string => path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'weft', 'ebpf');

const defines = (s: CaptureSettings): string[] => [`-DWEFT_PROXY_UID=${s.proxyUid}`, `-DWEFT_OUTBOUND_PORT=${s.outboundPort}`, `-DWEFT_INBOUND_PORT=${s.inboundPort}`, `-DWEFT_MAX_CONNECTIONS=${s.maxConnections}`];

export async function buildCaptureObject(tools: Toolchain, settings: CaptureSettings, cacheDir: string): Promise<BuiltObject> {
  const source = captureSource();
  const flags = ['-target', 'bpf', '-O2', '-g', ...tools.includes.map((i) => `-I${i}`), ...defines(settings)];
  const { stdout: version } = await run(tools.clang, ['--version']);
  // Every file beside the source (its headers) is part of what is compiled, so part of the key.
  const hash = createHash('sha256');
  const dir = path.dirname(source);
  for (const f of fs.readdirSync(dir).sort()) hash.update(f).update(fs.readFileSync(path.join(dir, f)));
  const key = hash.update(flags.join(' ')).update(version).digest('hex').slice(0, 16);
  const object = path.join(cacheDir, `weft_capture-${key}.o`);
  if (fs.existsSync(object)) return { object, cached: true };
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${object}.${process.pid}.tmp`;
  try {
    await run(tools.clang, [...flags, '-c', source, '-o', tmp], { maxBuffer: 4 << 20 });
    fs.renameSync(tmp, object);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new EbpfError('WEFT_E_EBPF_COMPILE', `clang ${source}: ${String((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
  return { object, cached: false };
}
