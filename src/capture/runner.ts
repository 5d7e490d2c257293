// Applies and removes the capture rule set in a network namespace (this one, or `netns` entered with
// nsenter) through iptables-restore --noflush of one backend (nft or legacy), never both.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

import { CaptureError } from './errors.js';
import { buildApply, buildCleanup, buildNatRules, findWeftRules, foreignCaptureChains, renderDryRun, type Family } from './rules.js';
import type { Backend, CaptureSettings } from './settings.js';

export interface Target {
  /** A network namespace file (/run/netns/NAME, /proc/PID/ns/net); undefined = the current one. */
  netns?: string;
}

const tool = (backend: Backend, family: Family, kind: 'save' | 'restore') => `${family === 4 ? 'iptables' : 'ip6tables'}-${backend}-${kind}`;
const other = (b: Backend): Backend => (b === 'nft' ? 'legacy' : 'nft');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside the target namespace; turns "not installed" and "no privilege" into their codes. */
async function runIn(target: Target, cmd: string, args: string[], input?: string): Promise<Ran> {
  const [file, argv] = target.netns ? ['nsenter', [`--net=${target.netns}`, cmd, ...args]] : [cmd, args];
  const ran = await new Promise<Ran & { spawnError?: NodeJS.ErrnoException }>((resolve) => {
    const child = execFile(file, argv, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e && typeof e.code === 'string') resolve({ code: -1, stdout, stderr, spawnError: e });
      else resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined);
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
  if (ran.spawnError?.code === 'ENOENT') {
    if (file === 'nsenter') throw new CaptureError('WEFT_E_CAPTURE_NETNS', 'nsenter is not installed (Debian package util-linux); it is needed to enter --netns');
    throw missingBinary(cmd);
  }
  if (ran.spawnError) throw new CaptureError('WEFT_E_CAPTURE_APPLY', `${cmd}: ${ran.spawnError.message}`);
  if (target.netns && ran.code !== 0) {
    if (/failed to execute .*No such file or directory/.test(ran.stderr)) throw missingBinary(cmd);
    if (/nsenter: (cannot open|reassociate to namespace)/.test(ran.stderr)) throw new CaptureError('WEFT_E_CAPTURE_NETNS', `cannot enter network namespace ${target.netns}: ${ran.stderr.trim()}`);
  }
  if (ran.code !== 0 && /Permission denied|you must be root|Operation not permitted/i.test(ran.stderr))
    throw new CaptureError('WEFT_E_CAPTURE_NO_NET_ADMIN', `${cmd} was refused (${ran.stderr.trim().split('\n')[0]}): capture needs CAP_NET_ADMIN in ${where(target)}`);
  return ran;
}

const missingBinary = (cmd: string) => new CaptureError('WEFT_E_CAPTURE_NO_IPTABLES', `${cmd} is not installed: install the Debian package iptables (apt-get install iptables)`);
const where = (t: Target) => (t.netns ? `network namespace ${t.netns}` : 'this network namespace');

async function save(target: Target, backend: Backend, family: Family): Promise<string> {
  const r = await runIn(target, tool(backend, family, 'save'), []);
  if (r.code !== 0) throw new CaptureError('WEFT_E_CAPTURE_APPLY', `${tool(backend, family, 'save')} in ${where(target)} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

async function restore(target: Target, backend: Backend, family: Family, input: string): Promise<void> {
  const cmd = tool(backend, family, 'restore');
  const r = await runIn(target, cmd, ['--noflush'], input);
  if (r.code !== 0) throw new CaptureError('WEFT_E_CAPTURE_APPLY', `${cmd} --noflush in ${where(target)} failed: ${r.stderr.trim()}`);
}

/** Whether the namespace has IPv6 at all (an address on any interface, ::1 included). */
export async function hasIpv6(target: Target): Promise<boolean> {
  if (!target.netns) {
    try {
      return fs.readFileSync('/proc/net/if_inet6', 'utf8').trim() !== '';
    } catch {
      return false;
    }
  }
  const r = await runIn(target, 'cat', ['/proc/net/if_inet6']);
  return r.code === 0 && r.stdout.trim() !== '';
}

/** The families the settings apply to in this namespace. */
export async function families(s: CaptureSettings, target: Target): Promise<Family[]> {
  if (s.ipv6 === 'off') return [4];
  if (s.ipv6 === 'on') return [4, 6];
  return (await hasIpv6(target)) ? [4, 6] : [4];
}

/** The other backend's rules, when its tools are installed (absent tools hold no rules). */
async function otherBackendSave(target: Target, backend: Backend, family: Family): Promise<string> {
  try {
    return await save(target, other(backend), family);
  } catch (e) {
    if (e instanceof CaptureError && e.code === 'WEFT_E_CAPTURE_NO_IPTABLES') return '';
    throw e;
  }
}

/** Refuses to stack on Istio's chains, or on Weft's chains under the other backend. */
function checkConflicts(target: Target, backend: Backend, family: Family, mine: string, theirs: string): void {
  const istio = [...new Set([...foreignCaptureChains(mine), ...foreignCaptureChains(theirs)])];
  if (istio.length)
    throw new CaptureError('WEFT_E_CAPTURE_CONFLICT', `${where(target)} already has Istio's capture chains (${istio.join(', ')}, IPv${family}); remove them (istio-iptables --cleanup) before weft iptables`);
  if (findWeftRules(theirs).size)
    throw new CaptureError(
      'WEFT_E_CAPTURE_CONFLICT',
      `${where(target)} has Weft's chains under iptables-${other(backend)} (IPv${family}); one namespace uses one backend: run weft iptables --cleanup${other(backend) === 'legacy' ? ' --iptables-legacy' : ''} first`,
    );
}

/** Adds ::6 to lo so the proxy can bind the IPv6 inbound passthrough source (Istio does the same). */
async function addIpv6PassthroughAddress(target: Target): Promise<void> {
  const r = await runIn(target, 'ip', ['-6', 'addr', 'add', '::6/128', 'dev', 'lo']);
  if (r.code !== 0 && !/File exists|already assigned/.test(r.stderr)) throw new CaptureError('WEFT_E_CAPTURE_APPLY', `ip -6 addr add ::6/128 dev lo in ${where(target)} failed: ${r.stderr.trim()}`);
}

export interface ApplyResult {
  families: Family[];
}

/** Installs the rule set (replacing Weft's earlier one, if any) for every family in use. */
export async function applyCapture(s: CaptureSettings, target: Target = {}): Promise<ApplyResult> {
  const fams = await families(s, target);
  const saves = new Map<Family, string>();
  // Check every family before changing any, so a conflict leaves the namespace as it was.
  for (const f of fams) {
    const mine = await save(target, s.backend, f);
    checkConflicts(target, s.backend, f, mine, await otherBackendSave(target, s.backend, f));
    saves.set(f, mine);
  }
  for (const f of fams) {
    if (f === 6) await addIpv6PassthroughAddress(target);
    await restore(target, s.backend, f, buildApply(s, f, saves.get(f)!));
  }
  return { families: fams };
}

/** Removes exactly Weft's chains and the jumps to them, in both families where present. */
export async function cleanupCapture(backend: Backend, target: Target = {}): Promise<{ removed: Family[] }> {
  const removed: Family[] = [];
  const fams: Family[] = (await hasIpv6(target)) ? [4, 6] : [4];
  for (const f of fams) {
    const input = buildCleanup(await save(target, backend, f));
    if (input === '') continue;
    await restore(target, backend, f, input);
    removed.push(f);
  }
  return { removed };
}

/** `--dry-run`: the rules for the families asked for; `auto` shows both (v6 applies where the namespace has IPv6). */
export function dryRun(s: CaptureSettings): string {
  return renderDryRun(s, s.ipv6 === 'off' ? [4] : [4, 6]);
}

/**
 * What differs between the rule set these settings make and the namespace's Weft rules (CNI CHECK):
 * one line per family with missing or extra rules; empty when the set is exactly in place.
 */
export async function verifyCapture(s: CaptureSettings, target: Target = {}): Promise<string[]> {
  const problems: string[] = [];
  for (const f of await families(s, target)) {
    const want = buildNatRules(s, f).filter((l) => l.startsWith('-A '));
    const have = (await save(target, s.backend, f)).split('\n').filter((l) => /^-A \S+ .*WEFT_|^-A WEFT_/.test(l));
    const missing = want.filter((l) => !have.includes(l));
    const extra = have.filter((l) => !want.includes(l));
    if (missing.length || extra.length) problems.push(`IPv${f}: ${missing.length} rule(s) missing${missing.length ? ` (first: ${missing[0]})` : ''}, ${extra.length} unexpected`);
  }
  return problems;
}
