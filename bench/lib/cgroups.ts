// Cgroup v2 directories for capture tests and benchmarks (shared by test/ and bench/): one per run under the unified mount, named wt-<pid>-<rand>
// like the test namespaces, so a later run removes an earlier run's leftovers (its PID is gone) and
// never a concurrent run's. Destroying moves any process still inside back to the root cgroup, kills
// it by PID, and removes the directories (which also drops every BPF program attached to them).
import fs from 'node:fs';
import path from 'node:path';

import { alive, NETNS_PREFIX } from './netns.js';

/** The cgroup v2 mount this machine uses (hybrid layout). */
import { CGROUP2_ROOT } from '../../src/demo/netns/leftovers.js';

export { CGROUP2_ROOT };

const live = new Set<TestCgroups>();
process.on('exit', () => {
  for (const c of live) c.destroy();
});

function procsOf(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Depth first: a cgroup can be removed only when it has neither processes nor children. */
function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  for (const pid of procsOf(dir)) {
    try {
      fs.writeFileSync(path.join(CGROUP2_ROOT, 'cgroup.procs'), `${pid}\n`);
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  try {
    fs.rmdirSync(dir);
  } catch {
    /* retried by the next run's leftover sweep */
  }
}

export function removeCgroupLeftovers(): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(CGROUP2_ROOT).filter((n) => n.startsWith(NETNS_PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('-')[1]);
    if (Number.isInteger(pid) && !alive(pid)) removeTree(path.join(CGROUP2_ROOT, n));
  }
}

export class TestCgroups {
  readonly root: string;

  private constructor() {
    this.root = path.join(CGROUP2_ROOT, `${NETNS_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 6)}`);
  }

  static create(): TestCgroups {
    removeCgroupLeftovers();
    const c = new TestCgroups();
    fs.mkdirSync(c.root);
    live.add(c);
    return c;
  }

  /** A child cgroup (e.g. "pod/app"), made with its parents. */
  child(name: string): string {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  procs(name: string): number[] {
    return procsOf(path.join(this.root, name));
  }

  destroy(): void {
    removeTree(this.root);
    live.delete(this);
  }
}
