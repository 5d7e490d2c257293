// `weft iptables` against the real iptables (nft and legacy) in network namespaces this test makes:
// the applied rules are exactly the --dry-run rules, two runs leave one set, --cleanup restores the
// namespace's ruleset, one namespace never gets both backends, and each failure has its code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { TestNet, type TestHost } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { weftBin } from '../helpers/processes.js';

const exec = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
const weft = async (args: string[], opts: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Promise<Ran> => {
  const [file, argv] = opts.prefix ? [opts.prefix[0]!, [...opts.prefix.slice(1), process.execPath, weftBin, 'iptables', ...args]] : [process.execPath, [weftBin, 'iptables', ...args]];
  try {
    const { stdout, stderr } = await exec(file, argv, { env: opts.env ?? process.env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

/** iptables-save without its comment lines and counters. */
const saved = async (net: TestNet, ns: string, cmd: string) =>
  (await net.inNs(ns, cmd, []))
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    .join('\n');

/** The rules of each chain, in order, from iptables-save or --dry-run text (one family). */
const chains = (text: string): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    const m = /^-A (\S+) /.exec(l);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), l]);
  }
  return out;
};
const weftOnly = (m: Map<string, string[]>) => new Map([...m].map(([c, rules]) => [c, rules.filter((r) => r.includes('WEFT_') || c.startsWith('WEFT_'))] as const).filter(([, r]) => r.length));
const dryRunFamily = (text: string, family: 4 | 6) => text.split(/^# ip6?tables-restore.*$/m)[family === 4 ? 1 : 2] ?? '';

privilegedSuite('weft iptables in network namespaces (real iptables-nft and iptables-legacy)', ['netns', 'iptables', 'ip6tables', 'iptables-legacy'], () => {
  let net: TestNet;
  let pod: TestHost;
  let other: TestHost;
  const flags = ['-b', '9080,9443', '-d', '9443', '-x', '198.18.0.9/32,fd18::9/128', '-o', '3306', '--capture-dns'];
  before(async () => {
    net = await TestNet.create({ ipv6: true });
    pod = await net.addHost('pod');
    other = await net.addHost('other');
  });
  after(() => net?.destroy());

  test('the applied rules are the --dry-run rules, two runs leave one set, --cleanup restores the ruleset', async () => {
    // The user's own rules, around which Weft's must come and go.
    await net.inNs(pod.ns, 'iptables-nft', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    await net.inNs(pod.ns, 'iptables-nft', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    await net.inNs(pod.ns, 'ip6tables-nft', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    const before4 = await saved(net, pod.ns, 'iptables-nft-save');
    const before6 = await saved(net, pod.ns, 'ip6tables-nft-save');
    const dry = (await weft(['--dry-run', ...flags])).stdout;

    for (let i = 0; i < 2; i++) {
      const r = await weft(['--netns', `/run/netns/${pod.ns}`, ...flags]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /applied \(iptables-nft, IPv4 and IPv6\)/);
    }
    for (const [family, cmd] of [[4, 'iptables-nft-save'], [6, 'ip6tables-nft-save']] as const) {
      const now = await saved(net, pod.ns, cmd);
      assert.deepEqual(weftOnly(chains(now)), chains(dryRunFamily(dry, family)), `IPv${family}: one set, exactly the dry-run rules`);
      assert.ok(now.includes('-A OUTPUT -p tcp -m tcp --dport 9999 -j ACCEPT'), 'the user rule stays');
    }
    const lo = await net.inNs(pod.ns, 'ip', ['-6', 'addr', 'show', 'dev', 'lo']);
    assert.match(lo, /inet6 ::6\/128/, 'the IPv6 passthrough source is on lo');

    const r = await weft(['--netns', `/run/netns/${pod.ns}`, '--cleanup']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await saved(net, pod.ns, 'iptables-nft-save'), before4);
    assert.equal(await saved(net, pod.ns, 'ip6tables-nft-save'), before6);
    const again = await weft(['--netns', `/run/netns/${pod.ns}`, '--cleanup']);
    assert.match(again.stdout, /no Weft chains to remove/);
  });

  test('--iptables-legacy applies under the legacy backend only, and the nft backend is then refused', async () => {
    const target = ['--netns', `/run/netns/${other.ns}`];
    const r = await weft([...target, '--iptables-legacy', '--ipv6', 'off']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await saved(net, other.ns, 'iptables-legacy-save'), /-A OUTPUT -j WEFT_OUTPUT/);
    assert.doesNotMatch(await saved(net, other.ns, 'iptables-nft-save'), /WEFT_/);

    const both = await weft([...target, '--ipv6', 'off']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /WEFT_E_CAPTURE_CONFLICT: .* has Weft's chains under iptables-legacy .*--cleanup --iptables-legacy/);
    assert.doesNotMatch(await saved(net, other.ns, 'iptables-nft-save'), /WEFT_/, 'nothing applied under nft');

    assert.equal((await weft([...target, '--iptables-legacy', '--cleanup'])).code, 0);
    assert.doesNotMatch(await saved(net, other.ns, 'iptables-legacy-save'), /WEFT_/);
  });

  test("Istio's chains in the namespace are a conflict, and nothing is applied", async () => {
    await net.inNs(other.ns, 'iptables-nft', ['-t', 'nat', '-N', 'ISTIO_OUTPUT']);
    try {
      const r = await weft(['--netns', `/run/netns/${other.ns}`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /WEFT_E_CAPTURE_CONFLICT: .*Istio's capture chains \(ISTIO_OUTPUT, IPv4\)/);
      assert.doesNotMatch(await saved(net, other.ns, 'iptables-nft-save'), /WEFT_/);
    } finally {
      await net.inNs(other.ns, 'iptables-nft', ['-t', 'nat', '-X', 'ISTIO_OUTPUT']);
    }
  });

  test('without CAP_NET_ADMIN iptables refuses and the error says so', async () => {
    const r = await weft(['--ipv6', 'off'], { prefix: ['ip', 'netns', 'exec', other.ns, 'setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'] });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WEFT_E_CAPTURE_NO_NET_ADMIN: iptables-nft-save was refused .*needs CAP_NET_ADMIN/);
  });

  test('a missing iptables binary is named with its Debian package', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-path-'));
    try {
      for (const tool of ['nsenter', 'cat', 'ip']) fs.symlinkSync(execPathOf(tool), path.join(bin, tool));
      const env = { ...process.env, PATH: bin };
      // Entering the namespace with --netns (nsenter cannot exec it), and running inside it (spawn ENOENT).
      for (const r of [await weft(['--netns', `/run/netns/${other.ns}`], { env }), await weft([], { env, prefix: [execPathOf('ip'), 'netns', 'exec', other.ns] })]) {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /WEFT_E_CAPTURE_NO_IPTABLES: iptables-nft-save is not installed: install the Debian package iptables/);
      }
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  test('a network namespace that does not exist is named', async () => {
    const r = await weft(['--netns', `/run/netns/${net.hub}-missing`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WEFT_E_CAPTURE_NETNS: cannot enter network namespace \/run\/netns\/.*-missing/);
  });
});

const execPathOf = (tool: string): string => {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, tool);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${tool} not on PATH`);
};
