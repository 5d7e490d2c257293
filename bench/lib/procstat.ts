// CPU and memory of a process and its descendants, read from /proc (Linux only).
import fs from 'node:fs';

const CLK_TCK = 100; // USER_HZ is 100 on every Linux architecture Node supports.

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const list = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) out.push(...list.split(/\s+/).map(Number));
    }
  } catch {
    /* process gone */
  }
  return out;
}

/** pid and every descendant (nginx master + workers). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
  return all;
}

/** utime+stime in seconds of one process (its own threads; reaped children are not counted). */
function cpuOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes comm; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export function cpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuOf(p), 0);
}

function statusField(pid: number, field: string): number {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set in bytes, summed over the tree (shared pages of nginx workers count twice, as in `ps`). */
export function rssBytes(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusField(p, 'VmRSS'), 0);
}

/** Peak resident set of the process itself (VmHWM). */
export function peakRssBytes(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/** The private, anonymous part of the resident set (RssAnon): what one more process of the same
 * program costs, since its executable's pages (RssFile) are shared by every copy on the machine. */
export function privateRssBytes(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusField(p, 'RssAnon'), 0);
}

/** Samples RSS every `everyMs` while running; reports the maximum seen (and of its private part). */
export class RssSampler {
  private max = 0;
  maxPrivate = 0;
  private timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    this.max = Math.max(this.max, rssBytes(this.pid));
    this.maxPrivate = Math.max(this.maxPrivate, privateRssBytes(this.pid));
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.max;
  }
}

export function machineInfo(): { nproc: number; cpuModel: string; memGiB: number; kernel: string } {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? 'unknown';
  const nproc = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const mem = Number(fs.readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { nproc, cpuModel: model, memGiB: Math.round((mem / 1024 / 1024) * 10) / 10, kernel };
}
