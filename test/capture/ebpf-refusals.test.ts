// `weft ebpf install` refuses, with a WEFT_E_* code naming the flag and path, whatever would capture
// the wrong processes or could not be cleaned up: the root cgroup, a directory that is not a cgroup v2,
// a pin directory that is not a BPF filesystem, a second install of the same name, a non-root caller,
// a kernel too old. After a refusal nothing is attached, pinned or recorded.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { EbpfError } from '../../src/capture/ebpf/errors.js';
import { cidrKey, parseExclusions } from '../../src/capture/ebpf/exclusions.js';
import { checkKernel, mountPoints } from '../../src/capture/ebpf/preflight.js';
import { createEbpfRun, destroyEbpfRun, installArgs, weftEbpf, type EbpfRun } from '../helpers/ebpf-run.js';
import { TestNet } from '../helpers/netns.js';
import { CGROUP2_ROOT, privilegedSuite } from '../helpers/privileged.js';
import { weftBin } from '../helpers/processes.js';

/** Whether a user that is neither owner nor group could read this file (every parent searchable). */
const readableByAll = (file: string): boolean => {
  const real = fs.realpathSync(file);
  if (!(fs.statSync(real).mode & 0o004)) return false;
  for (let d = path.dirname(real); ; d = path.dirname(d)) {
    if (!(fs.statSync(d).mode & 0o001)) return false;
    if (d === path.dirname(d)) return true;
  }
};

describe('eBPF preflight checks', () => {
  const code = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      return e instanceof EbpfError ? e.code : String(e);
    }
    return 'accepted';
  };
  for (const [release, want] of [['6.18.44-fc-v857', 'accepted'], ['5.10.0-27-amd64', 'accepted'], ['5.9.16', 'WEFT_E_EBPF_KERNEL'], ['4.19.0-6-amd64', 'WEFT_E_EBPF_KERNEL'], ['unknown', 'WEFT_E_EBPF_KERNEL']] as const)
    test(`kernel ${release}: ${want}`, () => assert.equal(code(() => checkKernel(release)), want));

  test('exclusion flags are parsed with their field named, and CIDRs keyed for the LPM trie', () => {
    assert.deepEqual(parseExclusions({ excludeOutboundPorts: '80, 443', excludeOutboundCidrs: '10.0.0.0/8,fd00::/8,192.0.2.1', includeInboundPorts: '8080' }), {
      excludeOutboundPorts: [80, 443],
      excludeOutboundCidrs: ['10.0.0.0/8', 'fd00::/8', '192.0.2.1/32'],
      excludeInboundPorts: [],
      includeInboundPorts: [8080],
    });
    assert.equal(parseExclusions({}).includeInboundPorts, '*');
    assert.deepEqual(parseExclusions({ includeInboundPorts: '' }).includeInboundPorts, [], "'' captures no inbound port, as istio-iptables -b ''");
    for (const [flags, message] of [
      [{ excludeOutboundPorts: '80,http' }, /--exclude-outbound-ports: "http" is not a port/],
      [{ excludeInboundPorts: '70000' }, /--exclude-inbound-ports: "70000" is not a port/],
      [{ excludeOutboundCidrs: '10.0.0.0/33' }, /--exclude-outbound-cidrs: "10.0.0.0\/33" is not an IPv4 or IPv6 CIDR/],
      [{ excludeOutboundCidrs: 'example.com/8' }, /--exclude-outbound-cidrs: "example.com\/8"/],
    ] as const)
      assert.throws(() => parseExclusions(flags), message);
    const le = os.endianness() === 'LE';
    assert.deepEqual(cidrKey('198.18.0.96/27').slice(0, 4), le ? [123, 0, 0, 0] : [0, 0, 0, 123], 'an IPv4 prefix counts the 96 bits of ::ffff:');
    assert.deepEqual(cidrKey('198.18.0.96/27').slice(4), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 96]);
    assert.deepEqual(cidrKey('fd18::100/120').slice(4), [0xfd, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  });

  test('mount points are read from mountinfo with their octal escapes undone', () => {
    const info = [
      '35 24 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw',
      '36 24 0:31 / /tmp/with\\040space rw - bpf bpf rw,mode=700',
      '37 24 0:32 / /sys/fs/bpf rw - bpf bpf rw',
    ].join('\n');
    assert.deepEqual(mountPoints('bpf', info), ['/tmp/with space', '/sys/fs/bpf']);
    assert.deepEqual(mountPoints('cgroup2', info), ['/sys/fs/cgroup/unified']);
  });
});

privilegedSuite('weft ebpf install: refusals, and installs side by side', ['netns', 'clang', 'bpftool', 'cgroup2'], () => {
  let r: EbpfRun | undefined;
  let app: string;
  const rootAttachments = () => execFileSync('bpftool', ['-j', 'cgroup', 'show', CGROUP2_ROOT], { encoding: 'utf8' }).trim();
  let rootBefore = '';

  before(async () => {
    r = await createEbpfRun();
    app = r.cgroups.child('pod/app');
    rootBefore = rootAttachments();
  });
  after(() => destroyEbpfRun(r));

  /** Runs an install that must be refused with this code, and checks that it left nothing. */
  const refused = async (args: string[], code: string, mentions: string) => {
    const res = await weftEbpf(r!, args);
    assert.equal(res.code, code === 'WEFT_E_EBPF_BAD_FLAG' ? 2 : 1, res.stderr);
    assert.match(res.stderr, new RegExp(`${code}: .*${mentions.replace(/[/.]/g, '\\$&')}`));
    assert.equal(rootAttachments(), rootBefore, 'the root cgroup is untouched');
    assert.equal(execFileSync('bpftool', ['-j', 'cgroup', 'show', app], { encoding: 'utf8' }).trim() || '[]', '[]');
    assert.ok(!fs.existsSync(path.join(r!.stateDir, `${r!.name}.json`)), 'no state recorded');
    assert.ok(!mountPoints('bpf').includes(r!.bpffs), 'no bpffs left mounted');
  };

  test('the root cgroup, as workload or as proxy cgroup, is refused', async () => {
    await refused(installArgs(r!, CGROUP2_ROOT, app), 'WEFT_E_EBPF_ROOT_CGROUP', `--workload-cgroup ${CGROUP2_ROOT}`);
    await refused(installArgs(r!, app, CGROUP2_ROOT), 'WEFT_E_EBPF_ROOT_CGROUP', `--proxy-cgroup ${CGROUP2_ROOT}`);
    await refused(installArgs(r!, `${app}/../../..`, app), 'WEFT_E_EBPF_ROOT_CGROUP', '--workload-cgroup');
  });

  test('--pod-pid takes the cgroup of the process, and refuses one in the root cgroup', async (t) => {
    // This test process sits in the root cgroup here; where it does not, the refusal cannot be shown.
    if (/^0::\/$/m.test(fs.readFileSync('/proc/self/cgroup', 'utf8')))
      await refused(['install', '--name', r!.name, '--pod-pid', String(process.pid), '--bpffs', r!.bpffs, '--mount-bpffs', '--cache-dir', r!.cacheDir], 'WEFT_E_EBPF_ROOT_CGROUP', `--workload-cgroup ${CGROUP2_ROOT}`);
    else t.diagnostic('this process is not in the root cgroup: the root refusal is shown by the --workload-cgroup test only');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(app, 'cgroup.procs'), `${sleeper.pid}\n`);
      const res = await weftEbpf(r!, ['install', '--name', r!.name, '--pod-pid', String(sleeper.pid), '--bpffs', r!.bpffs, '--mount-bpffs', '--cache-dir', r!.cacheDir]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, new RegExp(`attached weft_connect4 \\(id \\d+\\) to ${app.replace(/[/.]/g, '\\$&')} as cgroup_inet4_connect`));
      assert.equal((await weftEbpf(r!, ['uninstall', '--name', r!.name])).code, 0);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await refused(['install', '--name', r!.name, '--pod-pid', '999999999'], 'WEFT_E_EBPF_BAD_FLAG', '--pod-pid 999999999: no such process');
  });

  test('a directory that is not a cgroup v2, or no directory at all, is refused', async () => {
    await refused(installArgs(r!, os.tmpdir(), app), 'WEFT_E_EBPF_NO_CGROUP2', `--workload-cgroup ${os.tmpdir()}: not a directory of a cgroup v2 mount`);
    await refused(installArgs(r!, app, `${app}-missing`), 'WEFT_E_EBPF_NO_CGROUP2', `--proxy-cgroup ${app}-missing: no such directory`);
  });

  test('pins outside a BPF filesystem are refused unless --mount-bpffs', async () => {
    const plain = path.join(r!.dir, 'plain-dir');
    fs.mkdirSync(plain);
    const args = installArgs(r!, app, app).filter((a) => a !== '--mount-bpffs');
    args[args.indexOf('--bpffs') + 1] = plain;
    await refused(args, 'WEFT_E_EBPF_NO_BPFFS', `--bpffs ${plain}`);
  });

  test('inbound capture on an interface or network namespace that does not exist is refused', async () => {
    await refused(installArgs(r!, app, app, ['--inbound-interface', 'nosuchdev0']), 'WEFT_E_EBPF_BAD_FLAG', '--inbound-interface nosuchdev0: tc -j qdisc show dev nosuchdev0: Cannot find device');
    await refused(installArgs(r!, app, app, ['--inbound-interface', 'eth0', '--pod-netns', '/run/netns/wt-no-such-ns']), 'WEFT_E_EBPF_BAD_FLAG', '--pod-netns /run/netns/wt-no-such-ns: no such network namespace file');
  });

  test('a second install of the same name is refused and the first keeps working', async () => {
    const first = await weftEbpf(r!, installArgs(r!, app, app));
    assert.equal(first.code, 0, first.stderr);
    const second = await weftEbpf(r!, installArgs(r!, app, app));
    assert.equal(second.code, 1);
    assert.match(second.stderr, /WEFT_E_EBPF_STATE: an eBPF install named "test-[^"]+" exists/);
    const status = await weftEbpf(r!, ['status', '--name', r!.name]);
    assert.match(status.stdout, new RegExp(`^${r!.name}: installed`), status.stdout);
    assert.equal((await weftEbpf(r!, ['uninstall', '--name', r!.name])).code, 0);
    assert.equal(execFileSync('bpftool', ['-j', 'cgroup', 'show', app], { encoding: 'utf8' }).trim() || '[]', '[]');
  });

  test('two installs share one bpffs: uninstalling the one that mounted it leaves the other whole', async () => {
    const other = r!.cgroups.child('pod2/app');
    const second = `${r!.name}-2`;
    assert.equal((await weftEbpf(r!, installArgs(r!, app, app))).code, 0);
    const args = installArgs(r!, other, other);
    args[args.indexOf('--name') + 1] = second;
    const res = await weftEbpf(r!, args);
    assert.equal(res.code, 0, res.stderr);
    const gone = await weftEbpf(r!, ['uninstall', '--name', r!.name]);
    assert.match(gone.stderr, /stays mounted \(other pins remain\)/);
    const [status] = JSON.parse((await weftEbpf(r!, ['status', '--name', second, '-o', 'json'])).stdout) as { complete: boolean }[];
    assert.ok(status?.complete, 'the second install keeps its pins and attachments');
    assert.equal((await weftEbpf(r!, ['uninstall', '--name', second])).code, 0);
    assert.equal(execFileSync('bpftool', ['-j', 'cgroup', 'show', other], { encoding: 'utf8' }).trim() || '[]', '[]');
    execFileSync('umount', [r!.bpffs]);
  });

  test('an install that fails half-way (tc refuses the inbound filter) undoes what it had attached', async () => {
    const net = await TestNet.create();
    try {
      const pod = await net.addHost('pod');
      const nsenter = (args: string[]) => execFileSync('nsenter', [`--net=/run/netns/${pod.ns}`, 'tc', ...args], { encoding: 'utf8' });
      // Someone else's filter at Weft's priority: tc refuses a second one there.
      nsenter(['qdisc', 'add', 'dev', 'eth0', 'clsact']);
      nsenter(['filter', 'add', 'dev', 'eth0', 'egress', 'pref', '15006', 'bpf', 'bytecode', '1,6 0 0 0,']);
      await refused(installArgs(r!, app, app, ['--inbound-interface', 'eth0', '--pod-netns', `/run/netns/${pod.ns}`]), 'WEFT_E_EBPF_LOAD', 'tc filter add dev eth0 egress pref 15006');
      assert.match(nsenter(['filter', 'show', 'dev', 'eth0', 'egress']), /bytecode '1,6 0 0 0'/, 'the other filter is left alone');
      assert.doesNotMatch(nsenter(['filter', 'show', 'dev', 'eth0', 'ingress']), /weft_tc_ingress/, 'the ingress filter the install had added is gone');
      assert.match(nsenter(['qdisc', 'show', 'dev', 'eth0']), /clsact/, 'the clsact qdisc it did not add stays');
    } finally {
      await net.destroy();
    }
  });

  test('malformed flags exit 2 before anything is checked', async () => {
    const res = await weftEbpf(r!, installArgs(r!, app, app, ['--outbound-port', '70000']));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /WEFT_E_EBPF_BAD_FLAG: --outbound-port 70000: an integer from 1 to 65535/);
    const name = await weftEbpf(r!, ['install', '--name', 'Bad/Name', '--workload-cgroup', app]);
    assert.match(name.stderr, /WEFT_E_EBPF_BAD_FLAG: --name "Bad\/Name"/);
  });

  test('a caller that is not root is refused before anything is loaded', async (t) => {
    if (!readableByAll(weftBin) || !readableByAll(path.join(path.dirname(weftBin), '../dist/src/cli/main.js')))
      return t.skip(`the repository (${path.dirname(path.dirname(weftBin))}) is not readable by other users, so uid 65534 cannot start weft`);
    const res = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [weftBin, 'ebpf', ...installArgs(r!, app, app), '--state-dir', r!.stateDir], { uid: 65534, gid: 65534 }, (err, _o, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /WEFT_E_EBPF_NOT_PRIVILEGED: weft ebpf runs as root \(uid 0\), not uid 65534/);
  });
});
