// `weft demo`: parse flags and run the demo.
import { runDemo as run } from '../demo/runner.js';
import { NETNS_DEMO_PLAN, runNetnsDemo } from '../demo/netns/runner.js';
import { CAPTURE_MODES, type CaptureMode } from '../demo/netns/pods.js';
import { SCENARIOS, type Scenario } from '../demo/scenarios.js';

interface Flags {
  dir?: string;
  basePort: string;
  rps: string;
  autoSplit: boolean;
  duration?: string;
  scenario?: string;
  netns?: boolean;
  capture: string;
}

export async function runDemo(flags: Flags): Promise<void> {
  const basePort = Number(flags.basePort);
  const rps = Number(flags.rps);
  const duration = flags.duration === undefined ? undefined : Number(flags.duration);
  const bad = (msg: string) => {
    process.stderr.write(`weft demo: ${msg}\n`);
    process.exit(2);
  };
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65000) bad(`--base-port: expected 1024..65000, got "${flags.basePort}"`);
  if (!(rps > 0 && rps <= 2000)) bad(`--rps: expected 1..2000, got "${flags.rps}"`);
  if (duration !== undefined && !(duration > 0)) bad(`--duration: expected seconds > 0, got "${flags.duration}"`);
  if (flags.scenario !== undefined && !(SCENARIOS as readonly string[]).includes(flags.scenario)) bad(`--scenario: expected one of ${SCENARIOS.join(', ')}, got "${flags.scenario}"`);
  if (flags.netns) {
    if (!(CAPTURE_MODES as readonly string[]).includes(flags.capture)) bad(`--capture: expected one of ${CAPTURE_MODES.join(', ')}, got "${flags.capture}"`);
    if (flags.scenario !== undefined) bad('--scenario: not available with --netns yet (the scenarios steer in-process apps)');
    if (process.getuid?.() !== 0) {
      process.stderr.write(`weft demo --netns: needs root: ${NETNS_DEMO_PLAN}. Run it with sudo, or run plain \`weft demo\` (explicit sidecars on loopback, no root).\n`);
      process.exit(1);
    }
    await runNetnsDemo({ capture: flags.capture as CaptureMode, rps, autoSplit: flags.autoSplit, durationSeconds: duration });
    return;
  }
  if (flags.capture !== 'iptables') bad('--capture: only with --netns');
  await run({ dir: flags.dir, basePort, rps, autoSplit: flags.autoSplit, durationSeconds: duration, scenario: flags.scenario as Scenario | undefined });
}
