// `weft iptables`: flags -> capture settings -> dry-run text, apply or cleanup. Exit codes: 0 done,
// 2 bad flags, 1 anything else; errors print their WEFT_E_* code.
import { CaptureError } from '../capture/errors.js';
import { applyCapture, cleanupCapture, dryRun } from '../capture/runner.js';
import { parseCaptureSettings, type RawCaptureSettings } from '../capture/settings.js';

export interface IptablesFlags extends RawCaptureSettings {
  dryRun?: boolean;
  cleanup?: boolean;
  netns?: string;
}

const kebab = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export async function runIptables(flags: IptablesFlags): Promise<number> {
  try {
    const settings = parseCaptureSettings(flags, kebab);
    const target = flags.netns ? { netns: flags.netns } : {};
    if (flags.dryRun) {
      process.stdout.write(dryRun(settings));
      return 0;
    }
    if (flags.cleanup) {
      const { removed } = await cleanupCapture(settings.backend, target);
      process.stdout.write(removed.length ? `weft iptables: removed Weft's chains (IPv${removed.join(', IPv')})\n` : "weft iptables: no Weft chains to remove\n");
      return 0;
    }
    const { families } = await applyCapture(settings, target);
    process.stdout.write(`weft iptables: capture rules applied (iptables-${settings.backend}, IPv${families.join(' and IPv')})\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    process.stderr.write(`weft iptables: ${e.code}: ${e.message}\n`);
    return e.code === 'WEFT_E_CAPTURE_BAD_SETTING' ? 2 : 1;
  }
}
