// What an install did, written to <state-dir>/<name>.json as each step lands, so that uninstall (even
// after a crash half-way through install) undoes exactly that: detaches these program ids from these
// cgroups, removes these pins, unmounts a BPF filesystem only if the install mounted it.
import fs from 'node:fs';
import path from 'node:path';

import type { CaptureSettings } from './compile.js';
import { EbpfError } from './errors.js';
import type { CaptureExclusions } from './exclusions.js';
import type { CgroupRole } from './programs.js';

export const DEFAULT_STATE_DIR = '/run/weft/ebpf';
const NAME = /^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$/;

export interface Attachment {
  cgroup: string;
  attachType: string;
  program: string;
  progId: number;
}

export interface InstallState {
  version: 1;
  name: string;
  installedAt: string;
  settings: CaptureSettings;
  cgroups: Record<CgroupRole, string>;
  object: string;
  bpffs: string;
  /** Set when the install mounted bpffs itself (and whether it made the directory too). */
  mounted?: { createdDir: boolean };
  /** <bpffs>/weft/<name>: progs/ and maps/ below. */
  pinDir: string;
  exclusions: CaptureExclusions;
  attachments: Attachment[];
  /** Inbound capture on the pod's interface, when asked for. */
  inbound?: InboundAttachment;
}

export interface InboundAttachment {
  /** The network namespace file the interface is in; absent: the installer's own. */
  netns?: string;
  dev: string;
  /** Whether the install added the clsact qdisc (and so removes it). */
  addedQdisc: boolean;
  directions: ('ingress' | 'egress')[];
}

export function checkName(name: string): void {
  if (!NAME.test(name)) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `--name ${JSON.stringify(name)}: lower-case letters, digits, '.', '_' and '-', at most 63`);
}

export const statePath = (stateDir: string, name: string): string => path.join(stateDir, `${name}.json`);

export function writeState(stateDir: string, state: InstallState): void {
  fs.mkdirSync(stateDir, { recursive: true });
  const file = statePath(stateDir, state.name);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

export function readState(stateDir: string, name: string): InstallState {
  const file = statePath(stateDir, name);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new EbpfError('WEFT_E_EBPF_STATE', `no eBPF install named ${JSON.stringify(name)} (${file} does not exist)`);
  }
  try {
    const s = JSON.parse(text) as InstallState;
    if (s.version !== 1 || s.name !== name || !Array.isArray(s.attachments) || typeof s.pinDir !== 'string') throw new Error('unexpected shape');
    return s;
  } catch (err) {
    throw new EbpfError('WEFT_E_EBPF_STATE', `${file}: not an install state file (${(err as Error).message})`);
  }
}

export function listInstalls(stateDir: string): string[] {
  try {
    return fs
      .readdirSync(stateDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
}

export function removeState(stateDir: string, name: string): void {
  fs.rmSync(statePath(stateDir, name), { force: true });
}
