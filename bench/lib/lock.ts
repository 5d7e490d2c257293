// One benchmark at a time per machine: two runs sharing the two cores would each measure the
// other. The lock is a file holding the owner's pid; a lock whose owner is gone is taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LOCK_FILE = path.join(os.tmpdir(), 'weft-bench.lock');
const POLL_MS = 2000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wait until no other benchmark runs, then hold the lock until this process exits. */
export async function acquireBenchLock(log: (m: string) => void): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
      process.on('exit', () => {
        if (fs.readFileSync(LOCK_FILE, 'utf8') === String(process.pid)) fs.rmSync(LOCK_FILE, { force: true });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(fs.readFileSync(LOCK_FILE, 'utf8'));
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      fs.rmSync(LOCK_FILE, { force: true });
      continue;
    }
    if (!announced) log(`waiting for another benchmark to finish (pid ${owner}, ${LOCK_FILE})`);
    announced = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
