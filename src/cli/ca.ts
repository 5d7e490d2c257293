// `weft ca rotate`: drive a root rotation in the control plane's --ca-dir, confirmed step by step
// through its monitoring port (/debug/ca).
import { parseDuration } from '../config/duration.js';
import { rotateRoot, type CaStatus } from '../controlplane/ca/rotation.js';

interface RotateFlags {
  caDir: string;
  monitorAddress: string;
  trustDomain: string;
  stepTimeout: string;
}

export async function runCaRotate(f: RotateFlags): Promise<number> {
  const timeout = parseDuration(f.stepTimeout);
  if (!timeout.ok) {
    process.stderr.write(`weft ca rotate: --step-timeout: ${timeout.message}\n`);
    return 2;
  }
  const status = async (): Promise<CaStatus> => {
    const res = await fetch(`http://${f.monitorAddress}/debug/ca`);
    if (!res.ok) throw new Error(`http://${f.monitorAddress}/debug/ca: HTTP ${res.status}`);
    const body = (await res.json()) as CaStatus & { enabled?: false };
    if (body.enabled === false) throw new Error(`the control plane at ${f.monitorAddress} runs no CA (no --ca-dir)`);
    return body;
  };
  try {
    await rotateRoot({ dir: f.caDir, trustDomain: f.trustDomain, status, stepTimeoutMs: timeout.ms, report: (l) => process.stdout.write(`${l}\n`) });
    return 0;
  } catch (err) {
    process.stderr.write(`weft ca rotate: ${(err as Error).message}\n`);
    return 1;
  }
}
