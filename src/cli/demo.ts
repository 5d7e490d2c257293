// `weft demo`: parse flags and run the demo.
import { runDemo as run } from '../demo/runner.js';
import { SCENARIOS, type Scenario } from '../demo/scenarios.js';

interface Flags {
  dir?: string;
  basePort: string;
  rps: string;
  autoSplit: boolean;
  duration?: string;
  scenario?: string;
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
  await run({ dir: flags.dir, basePort, rps, autoSplit: flags.autoSplit, durationSeconds: duration, scenario: flags.scenario as Scenario | undefined });
}
