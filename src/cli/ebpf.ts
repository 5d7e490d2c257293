// `weft ebpf install|uninstall|status`: flags to options, errors to stderr and exit codes. The work is
// in src/capture/ebpf/.
import { defaultCacheDir } from '../capture/ebpf/compile.js';
import { EbpfError } from '../capture/ebpf/errors.js';
import { parseExclusions } from '../capture/ebpf/exclusions.js';
import { install, uninstall } from '../capture/ebpf/install.js';
import { cgroupOfPid } from '../capture/ebpf/preflight.js';
import { formatStatus, status } from '../capture/ebpf/status.js';

export interface EbpfInstallFlags {
  name: string;
  workloadCgroup?: string;
  podPid?: string;
  proxyCgroup?: string;
  bpffs: string;
  mountBpffs?: boolean;
  stateDir: string;
  cacheDir?: string;
  proxyUid: string;
  outboundPort: string;
  inboundPort: string;
  inboundInterface?: string;
  podNetns?: string;
  maxConnections: string;
  excludeOutboundPorts?: string;
  excludeOutboundCidrs?: string;
  excludeInboundPorts?: string;
  includeInboundPorts?: string;
}

const toInt = (flag: string, v: string): number => {
  if (!/^\d+$/.test(v)) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `${flag} ${JSON.stringify(v)}: not a non-negative integer`);
  return Number(v);
};

async function guarded(cmd: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    process.stderr.write(`weft ebpf ${cmd}: ${(err as Error).message}\n`);
    return err instanceof EbpfError && err.code === 'WEFT_E_EBPF_BAD_FLAG' ? 2 : 1;
  }
}

const log = (cmd: string) => (line: string) => process.stderr.write(`weft ebpf ${cmd}: ${line}\n`);

export const runEbpfInstall = (f: EbpfInstallFlags): Promise<number> =>
  guarded('install', async () => {
    if (f.podNetns && !f.inboundInterface) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', '--pod-netns: only with --inbound-interface');
    const settings = { proxyUid: toInt('--proxy-uid', f.proxyUid), outboundPort: toInt('--outbound-port', f.outboundPort), inboundPort: toInt('--inbound-port', f.inboundPort), maxConnections: toInt('--max-connections', f.maxConnections) };
    if (!f.workloadCgroup === !f.podPid) throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', 'give one of --workload-cgroup and --pod-pid');
    const workloadCgroup = f.workloadCgroup ?? cgroupOfPid(toInt('--pod-pid', f.podPid!));
    const s = await install(
      { name: f.name, workloadCgroup, ...(f.proxyCgroup ? { proxyCgroup: f.proxyCgroup } : {}), bpffs: f.bpffs, mountBpffs: !!f.mountBpffs, stateDir: f.stateDir, cacheDir: f.cacheDir ?? defaultCacheDir(), settings, exclusions: parseExclusions(f),
        ...(f.inboundInterface ? { inbound: { dev: f.inboundInterface, ...(f.podNetns ? { netns: f.podNetns } : {}) } } : {}) },
      log('install'),
    );
    process.stdout.write(`installed eBPF capture ${s.name}: ${s.attachments.length} cgroup attachments${s.inbound ? `, inbound on ${s.inbound.dev}` : ''}, pins under ${s.pinDir}\n`);
  });

export const runEbpfUninstall = (f: { name: string; stateDir: string }): Promise<number> => guarded('uninstall', () => uninstall(f, log('uninstall')));

export const runEbpfStatus = (f: { name?: string; stateDir: string; output: 'text' | 'json' }): Promise<number> =>
  guarded('status', async () => {
    const list = await status({ stateDir: f.stateDir, ...(f.name ? { name: f.name } : {}) });
    process.stdout.write(f.output === 'json' ? `${JSON.stringify(list, null, 2)}\n` : formatStatus(list));
  });
