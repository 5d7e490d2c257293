// `weft ebpf status`: for each install, which of its programs are attached to which cgroup right now
// (asked of the kernel through bpftool, not taken from the state file), and how full its maps are.
import fs from 'node:fs';
import path from 'node:path';

import { Bpftool } from './bpftool.js';
import type { CaptureSettings } from './compile.js';
import { NO_EXCLUSIONS, type CaptureExclusions } from './exclusions.js';
import { findBpftool } from './preflight.js';
import { CAPTURE_MAPS, TC_PROGRAMS, type CgroupRole } from './programs.js';
import { Tc } from './tc.js';
import { listInstalls, readState } from './state.js';

export interface AttachmentStatus {
  program: string;
  attachType: string;
  cgroup: string;
  progId: number;
  attached: boolean;
}

export interface MapStatus {
  name: string;
  pinned: boolean;
  entries?: number;
  maxEntries?: number;
}

export interface InstallStatus {
  name: string;
  settings: CaptureSettings;
  cgroups: Record<CgroupRole, string>;
  pinDir: string;
  attachments: AttachmentStatus[];
  maps: MapStatus[];
  inbound?: { dev: string; netns?: string; hooks: { direction: string; program?: string; progId?: number }[] };
  exclusions: CaptureExclusions;
  /** Every recorded attachment is in place and every map pinned. */
  complete: boolean;
}

export async function status(o: { stateDir: string; name?: string }): Promise<InstallStatus[]> {
  const names = o.name ? [o.name] : listInstalls(o.stateDir);
  if (!names.length) return [];
  const bpftool = new Bpftool(findBpftool());
  const shown = new Map<string, Awaited<ReturnType<Bpftool['cgroupShow']>>>();
  const cgroupShow = async (cg: string) => {
    if (!shown.has(cg)) shown.set(cg, await bpftool.cgroupShow(cg).catch(() => []));
    return shown.get(cg)!;
  };
  const out: InstallStatus[] = [];
  for (const name of names) {
    const s = readState(o.stateDir, name);
    const attachments: AttachmentStatus[] = [];
    for (const a of s.attachments) {
      const attached = (await cgroupShow(a.cgroup)).some((x) => x.id === a.progId && x.attach_type === a.attachType);
      attachments.push({ ...a, attached });
    }
    const maps: MapStatus[] = [];
    for (const m of CAPTURE_MAPS) {
      const pin = path.join(s.pinDir, 'maps', m);
      if (!fs.existsSync(pin)) {
        maps.push({ name: m, pinned: false });
        continue;
      }
      const info = await bpftool.mapInfo(pin);
      maps.push({ name: m, pinned: true, entries: await bpftool.mapEntries(pin), maxEntries: info.max_entries });
    }
    let inbound: InstallStatus['inbound'];
    if (s.inbound) {
      const tc = new Tc(s.inbound.netns);
      const hooks = [];
      for (const p of TC_PROGRAMS) {
        const prog = s.inbound.directions.includes(p.direction) ? await tc.attached(s.inbound.dev, p.direction) : undefined;
        hooks.push({ direction: p.direction, ...(prog ? { program: prog.name, progId: prog.id } : {}) });
      }
      inbound = { dev: s.inbound.dev, ...(s.inbound.netns ? { netns: s.inbound.netns } : {}), hooks };
    }
    const inboundOk = !inbound || inbound.hooks.every((h) => h.program);
    out.push({ name, settings: s.settings, cgroups: s.cgroups, pinDir: s.pinDir, exclusions: s.exclusions ?? NO_EXCLUSIONS, attachments, maps, ...(inbound ? { inbound } : {}), complete: inboundOk && attachments.length > 0 && attachments.every((a) => a.attached) && maps.every((m) => m.pinned) });
  }
  return out;
}

export function formatStatus(list: InstallStatus[]): string {
  if (!list.length) return 'no eBPF capture installed\n';
  const lines: string[] = [];
  for (const s of list) {
    lines.push(`${s.name}: ${s.complete ? 'installed' : 'INCOMPLETE'} (proxy uid ${s.settings.proxyUid}, outbound port ${s.settings.outboundPort}, inbound ${s.inbound ? `port ${s.settings.inboundPort}` : 'not captured'}, pins ${s.pinDir})`);
    const x = s.exclusions;
    const excluded = [
      x.excludeOutboundPorts.length && `outbound ports ${x.excludeOutboundPorts.join(',')}`,
      x.excludeOutboundCidrs.length && `outbound CIDRs ${x.excludeOutboundCidrs.join(',')}`,
      x.includeInboundPorts !== '*' && `inbound only ports ${x.includeInboundPorts.join(',') || '(none)'}`,
      x.excludeInboundPorts.length && `inbound ports ${x.excludeInboundPorts.join(',')}`,
    ].filter(Boolean);
    if (excluded.length) lines.push(`  excluded: ${excluded.join('; ')}`);
    for (const a of s.attachments) lines.push(`  ${a.attached ? 'attached' : 'MISSING '}  ${a.program.padEnd(16)} ${a.attachType.padEnd(26)} id ${String(a.progId).padEnd(6)} ${a.cgroup}`);
    for (const h of s.inbound?.hooks ?? []) lines.push(`  ${h.program ? 'attached' : 'MISSING '}  ${(h.program ?? TC_PROGRAMS.find((p) => p.direction === h.direction)!.name).padEnd(16)} ${`tc ${h.direction}`.padEnd(26)} id ${String(h.progId ?? '-').padEnd(6)} ${s.inbound!.dev}${s.inbound!.netns ? ` in ${s.inbound!.netns}` : ''}`);
    for (const m of s.maps) lines.push(`  map       ${m.name.padEnd(16)} ${m.pinned ? `${m.entries}/${m.maxEntries} entries` : 'NOT PINNED'}`);
  }
  return `${lines.join('\n')}\n`;
}
