// `weft ebpf install` and `uninstall`: compile, load and pin the capture programs of one install (one
// pod: its workload cgroup and its proxy cgroup, which may be one and the same), attach them, and undo
// exactly that. Each install has its own maps, so two pods' identical loopback addresses never meet.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Bpftool } from './bpftool.js';
import { buildCaptureObject, type CaptureSettings } from './compile.js';
import { EbpfError } from './errors.js';
import { NO_EXCLUSIONS, writeExclusions, type CaptureExclusions } from './exclusions.js';
import { checkBpffs, isBpffs, checkCgroup, checkKernel, ensureBpffs, findBpftool, findToolchain, requireRoot } from './preflight.js';
import { CAPTURE_PROGRAMS, TC_PROGRAMS, type CgroupRole } from './programs.js';
import { checkName, readState, removeState, statePath, writeState, type Attachment, type InboundAttachment, type InstallState } from './state.js';
import { Tc } from './tc.js';

const KERNEL_BPFFS_ENTRIES = ['maps.debug', 'progs.debug'];

export interface InstallOptions {
  name: string;
  workloadCgroup: string;
  /** Defaults to the workload cgroup (a pod cgroup holding both containers). */
  proxyCgroup?: string;
  bpffs: string;
  mountBpffs: boolean;
  stateDir: string;
  cacheDir: string;
  settings: CaptureSettings;
  /** Capture inbound too: the pod's interface, and the network namespace it is in. */
  inbound?: { dev: string; netns?: string };
  exclusions?: CaptureExclusions;
}

export function checkSettings(s: CaptureSettings): void {
  const bad = (flag: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `${flag} ${v}: an integer from ${lo} to ${hi}`);
  };
  bad('--proxy-uid', s.proxyUid, 0, 0xfffffffe);
  bad('--outbound-port', s.outboundPort, 1, 65535);
  bad('--inbound-port', s.inboundPort, 1, 65535);
  if (s.inboundPort === s.outboundPort) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `--inbound-port ${s.inboundPort}: must differ from --outbound-port`);
  bad('--max-connections', s.maxConnections, 16, 1 << 24);
}

export async function install(o: InstallOptions, log: (line: string) => void = () => {}): Promise<InstallState> {
  checkName(o.name);
  checkSettings(o.settings);
  requireRoot();
  checkKernel();
  const cgroups: Record<CgroupRole, string> = {
    workload: checkCgroup('--workload-cgroup', o.workloadCgroup),
    proxy: checkCgroup('--proxy-cgroup', o.proxyCgroup ?? o.workloadCgroup),
  };
  const tools = findToolchain();
  if (fs.existsSync(statePath(o.stateDir, o.name)))
    throw new EbpfError('WEFT_E_EBPF_STATE', `an eBPF install named ${JSON.stringify(o.name)} exists (${statePath(o.stateDir, o.name)}): weft ebpf uninstall --name ${o.name} first`);
  if (!o.mountBpffs) checkBpffs(o.bpffs);
  if (o.inbound) await checkInbound(o.inbound);
  const built = await buildCaptureObject(tools, o.settings, o.cacheDir);
  log(`${built.cached ? 'using cached' : 'compiled'} ${built.object}`);

  const bpffsExisted = fs.existsSync(o.bpffs);
  const mountedHere = ensureBpffs(o.bpffs, o.mountBpffs);
  const pinDir = path.join(o.bpffs, 'weft', o.name);
  if (fs.existsSync(pinDir)) {
    if (mountedHere) execFileSync('umount', [o.bpffs]);
    throw new EbpfError('WEFT_E_EBPF_STATE', `${pinDir} exists without an install state: remove it (rm -r) or choose another --name`);
  }
  const state: InstallState = {
    version: 1,
    name: o.name,
    installedAt: new Date().toISOString(),
    settings: o.settings,
    cgroups,
    object: built.object,
    bpffs: o.bpffs,
    ...(mountedHere ? { mounted: { createdDir: !bpffsExisted } } : {}),
    pinDir,
    exclusions: o.exclusions ?? NO_EXCLUSIONS,
    attachments: [],
  };
  writeState(o.stateDir, state);
  const bpftool = new Bpftool(tools.bpftool);
  try {
    fs.mkdirSync(state.pinDir, { recursive: true });
    await bpftool.loadAll(built.object, path.join(state.pinDir, 'progs'), path.join(state.pinDir, 'maps'));
    await writeExclusions(bpftool, path.join(state.pinDir, 'maps'), state.exclusions);
    if (o.inbound) await writePodAddresses(bpftool, path.join(state.pinDir, 'maps'), o.inbound);
    for (const p of CAPTURE_PROGRAMS) {
      const pin = path.join(state.pinDir, 'progs', p.name);
      const progId = await bpftool.progId(pin);
      for (const cgroup of new Set(p.roles.map((r) => cgroups[r]))) {
        await bpftool.attach(cgroup, p.attachType, pin);
        state.attachments.push({ cgroup, attachType: p.attachType, program: p.name, progId });
        writeState(o.stateDir, state);
        log(`attached ${p.name} (id ${progId}) to ${cgroup} as ${p.attachType}`);
      }
    }
    if (o.inbound) await attachInbound(o.inbound, state, () => writeState(o.stateDir, state), log);
  } catch (err) {
    await undo(bpftool, state).catch(() => {});
    removeState(o.stateDir, o.name);
    throw err;
  }
  return state;
}

/** The pod interface's IPv4 addresses into weft_pod_ips: the proxy calling one of them goes to the inbound port. */
async function writePodAddresses(bpftool: Bpftool, mapDir: string, inbound: { dev: string; netns?: string }): Promise<void> {
  const ip = ['ip', '-j', '-4', 'addr', 'show', 'dev', inbound.dev];
  const out = execFileSync(inbound.netns ? 'nsenter' : ip[0]!, inbound.netns ? [`--net=${inbound.netns}`, ...ip] : ip.slice(1), { encoding: 'utf8' });
  const addrs = (JSON.parse(out) as { addr_info?: { local?: string }[] }[]).flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter(Boolean).slice(0, 16);
  for (const a of addrs) await bpftool.run(['map', 'update', 'pinned', path.join(mapDir, 'weft_pod_ips'), 'key', ...a.split('.').map((b) => `0x${Number(b).toString(16).padStart(2, '0')}`), 'value', '0x01']);
}

/** Detaches, unpins and unmounts what an install recorded; returns what it could not undo. */
async function undo(bpftool: Bpftool, state: InstallState): Promise<string[]> {
  const problems: string[] = [];
  if (state.inbound) problems.push(...(await detachInbound(state.inbound)));
  for (const a of [...state.attachments].reverse()) {
    if (!(await attached(bpftool, a))) continue;
    await bpftool.detach(a.cgroup, a.attachType, a.progId).catch((e: Error) => problems.push(e.message));
  }
  fs.rmSync(state.pinDir, { recursive: true, force: true });
  const weftDir = path.dirname(state.pinDir);
  if (fs.existsSync(weftDir) && fs.readdirSync(weftDir).length === 0) fs.rmdirSync(weftDir);
  // Another install may have pinned under the bpffs this one mounted: it stays mounted for that one.
  // (maps.debug and progs.debug are the kernel's own, put in every new bpffs by bpf_preload.)
  const othersPins = () => fs.readdirSync(state.bpffs).filter((e) => !KERNEL_BPFFS_ENTRIES.includes(e));
  if (state.mounted && isBpffs(state.bpffs) && othersPins().length === 0) {
    try {
      execFileSync('umount', [state.bpffs], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (state.mounted.createdDir) fs.rmdirSync(state.bpffs);
    } catch (err) {
      problems.push(`umount ${state.bpffs}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    }
  }
  return problems;
}

async function checkInbound(inbound: { dev: string; netns?: string }): Promise<void> {
  if (inbound.netns && !fs.existsSync(inbound.netns)) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `--pod-netns ${inbound.netns}: no such network namespace file`);
  try {
    await new Tc(inbound.netns).hasClsact(inbound.dev);
  } catch (err) {
    if (err instanceof EbpfError && err.code === 'WEFT_E_EBPF_TOOL_MISSING') throw err;
    throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `--inbound-interface ${inbound.dev}: ${err instanceof EbpfError ? err.detail : (err as Error).message}`);
  }
}

async function attachInbound(inbound: { dev: string; netns?: string }, state: InstallState, save: () => void, log: (line: string) => void): Promise<void> {
  const tc = new Tc(inbound.netns);
  const addedQdisc = !(await tc.hasClsact(inbound.dev));
  if (addedQdisc) await tc.addClsact(inbound.dev);
  const record: InboundAttachment = { ...(inbound.netns ? { netns: inbound.netns } : {}), dev: inbound.dev, addedQdisc, directions: [] };
  state.inbound = record;
  save();
  for (const p of TC_PROGRAMS) {
    await tc.attach(inbound.dev, p.direction, path.join(state.pinDir, 'progs', p.name));
    record.directions.push(p.direction);
    save();
    log(`attached ${p.name} to ${inbound.dev} ${p.direction}${inbound.netns ? ` in ${inbound.netns}` : ''}`);
  }
}

async function detachInbound(inbound: InboundAttachment): Promise<string[]> {
  const tc = new Tc(inbound.netns);
  const problems: string[] = [];
  if (inbound.netns && !fs.existsSync(inbound.netns)) return problems; // the namespace, its interface and filters are gone
  for (const d of inbound.directions) if (await tc.attached(inbound.dev, d)) await tc.detach(inbound.dev, d).catch((e: Error) => problems.push(e.message));
  if (inbound.addedQdisc && (await tc.hasClsact(inbound.dev).catch(() => false))) await tc.delClsact(inbound.dev).catch((e: Error) => problems.push(e.message));
  return problems;
}

async function attached(bpftool: Bpftool, a: Attachment): Promise<boolean> {
  try {
    return (await bpftool.cgroupShow(a.cgroup)).some((x) => x.id === a.progId && x.attach_type === a.attachType);
  } catch {
    return false; // the cgroup is gone, and its attachments with it
  }
}

export async function uninstall(o: { name: string; stateDir: string }, log: (line: string) => void = () => {}): Promise<void> {
  checkName(o.name);
  requireRoot();
  const state = readState(o.stateDir, o.name);
  const bpftool = new Bpftool(findBpftool());
  const problems = await undo(bpftool, state);
  if (problems.length) throw new EbpfError('WEFT_E_EBPF_LOAD', `uninstall ${o.name} left: ${problems.join('; ')} (the state file ${statePath(o.stateDir, o.name)} is kept)`);
  removeState(o.stateDir, o.name);
  const unmounted = state.mounted && !isBpffs(state.bpffs);
  log(`removed ${state.attachments.length} attachments${state.inbound ? ` and the tc filters on ${state.inbound.dev}` : ''} and ${state.pinDir}${unmounted ? `; unmounted ${state.bpffs}` : state.mounted ? `; ${state.bpffs} stays mounted (other pins remain)` : ''}`);
}
