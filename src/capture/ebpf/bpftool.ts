// The few bpftool commands capture needs, with JSON output parsed into types. Every failure is a
// WEFT_E_EBPF_LOAD naming the command and carrying bpftool's (or the verifier's) own words.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { EbpfError } from './errors.js';

const run = promisify(execFile);

export interface CgroupAttachment {
  id: number;
  attach_type: string;
  attach_flags?: string;
  name: string;
}

export interface MapInfo {
  id: number;
  name: string;
  type: string;
  max_entries: number;
}

export class Bpftool {
  constructor(readonly bin: string) {}

  async run(args: string[]): Promise<string> {
    try {
      return (await run(this.bin, args, { maxBuffer: 64 << 20 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new EbpfError('WEFT_E_EBPF_LOAD', `bpftool ${args.join(' ')}: ${(e.stderr || e.stdout || e.message).trim()}`);
    }
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.run(['-j', ...args])) as T;
  }

  /** Loads every program of an object, pinning programs under progDir and maps under mapDir. */
  async loadAll(object: string, progDir: string, mapDir: string): Promise<void> {
    await this.run(['prog', 'loadall', object, progDir, 'pinmaps', mapDir]);
  }

  /** Attaches in multi mode, so programs others attached to the same cgroup stay in place. */
  async attach(cgroup: string, attachType: string, pin: string): Promise<void> {
    await this.run(['cgroup', 'attach', cgroup, attachType, 'pinned', pin, 'multi']);
  }

  async detach(cgroup: string, attachType: string, progId: number): Promise<void> {
    await this.run(['cgroup', 'detach', cgroup, attachType, 'id', String(progId)]);
  }

  async cgroupShow(cgroup: string): Promise<CgroupAttachment[]> {
    const out = await this.run(['-j', 'cgroup', 'show', cgroup]);
    return out.trim() ? (JSON.parse(out) as CgroupAttachment[]) : [];
  }

  async progId(pin: string): Promise<number> {
    return (await this.json<{ id: number }>(['prog', 'show', 'pinned', pin])).id;
  }

  /** Whether a program id is loaded (bpftool prog show id N succeeds). */
  async progLoaded(id: number): Promise<boolean> {
    try {
      await this.run(['prog', 'show', 'id', String(id)]);
      return true;
    } catch {
      return false;
    }
  }

  async mapInfo(pin: string): Promise<MapInfo> {
    return this.json<MapInfo>(['map', 'show', 'pinned', pin]);
  }

  async mapEntries(pin: string): Promise<number> {
    return (await this.json<unknown[]>(['map', 'dump', 'pinned', pin])).length;
  }
}
