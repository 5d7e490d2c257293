// `weft control-plane`: parse flags, start, stop cleanly on SIGINT/SIGTERM.
import { defaultMeshConfig, loadMeshConfig } from '../config/mesh-config.js';
import { ControlPlane } from '../controlplane/control-plane.js';
import { splitHostPort } from '../controlplane/monitor.js';

interface Flags {
  configDir: string;
  xdsAddress: string;
  monitorAddress: string;
  debounceMs: string;
  endpointGraceMs: string;
  startupGraceMs: string;
  domain: string;
  pushConcurrency: string;
  maxRegistrations: string;
  maxRegistrationsPerPeer: string;
  meshConfig?: string;
}

export async function runControlPlane(flags: Flags): Promise<void> {
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) fail(`--${name}: expected a non-negative number, got "${v}"`);
    return n;
  };
  for (const [name, v] of [['xds-address', flags.xdsAddress], ['monitor-address', flags.monitorAddress]] as const) {
    try {
      splitHostPort(v);
    } catch (err) {
      fail(`--${name}: ${(err as Error).message}`);
    }
  }
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} control-plane: ${msg}\n`);
  let mesh = defaultMeshConfig;
  if (flags.meshConfig !== undefined) {
    const loaded = loadMeshConfig(flags.meshConfig);
    if (!loaded.ok) fail(`--mesh-config: ${loaded.errors.join('\n  ')}`);
    else mesh = loaded.mesh;
  }
  const cp = new ControlPlane({
    mesh,
    configDir: flags.configDir,
    xdsAddress: flags.xdsAddress,
    monitorAddress: flags.monitorAddress,
    debounceMs: num('debounce-ms', flags.debounceMs),
    endpointGraceMs: num('endpoint-grace-ms', flags.endpointGraceMs),
    startupGraceMs: num('startup-grace-ms', flags.startupGraceMs),
    domain: flags.domain,
    maxConcurrentPushes: Math.max(1, Math.floor(num('push-concurrency', flags.pushConcurrency))),
    registryLimits: {
      maxRegistrations: Math.floor(num('max-registrations', flags.maxRegistrations)),
      maxPerPeer: Math.floor(num('max-registrations-per-peer', flags.maxRegistrationsPerPeer)),
    },
    log,
  });
  try {
    await cp.start();
  } catch (err) {
    fail(`cannot start: ${(err as Error).message}`);
  }
  log(`serving ADS on ${flags.xdsAddress.replace(/:0$/, ':' + cp.xdsPort)}, monitoring on ${flags.monitorAddress.replace(/:0$/, ':' + cp.monitorPort)}, config from ${flags.configDir}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    log('shutting down');
    await cp.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function fail(msg: string): never {
  process.stderr.write(`weft control-plane: ${msg}\n`);
  process.exit(2);
}
