// The pure side of `weft iptables`: `--dry-run` output as golden files (v4 and v6, with include/exclude
// flags; UPDATE_GOLDEN=1 rewrites them), flag errors as a table, and the restore input that makes a
// second run replace the first and --cleanup remove exactly Weft's lines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { CaptureError } from '../../src/capture/errors.js';
import { buildApply, buildCleanup, buildNatRules, findWeftRules } from '../../src/capture/rules.js';
import { parseCaptureSettings, type RawCaptureSettings } from '../../src/capture/settings.js';
import { weftBin } from '../helpers/processes.js';
import { repoRoot } from '../helpers/paths.js';

const run = promisify(execFile);
const goldenDir = path.join(repoRoot, 'test/capture/golden');
const flagName = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const settings = (raw: RawCaptureSettings) => parseCaptureSettings(raw, flagName);

const goldens: Array<[string, string[]]> = [
  ['defaults', []],
  ['include-exclude', ['-b', '9080,9443', '-d', '9443', '-i', '198.18.0.0/15,fd18::/64', '-x', '198.18.0.9/32,fd18::9/128', '-q', '3306', '-o', '5432', '-c', 'eth1']],
  ['dns-no-inbound', ['-b', '', '--capture-dns', '--dns-port', '15054', '-p', '16001', '-z', '16006', '-u', '2000', '-g', '2001']],
  ['ipv4-only', ['--ipv6', 'off', '-x', '10.0.0.0/8,fd00::/8']],
];
for (const [name, args] of goldens)
  test(`golden: weft iptables --dry-run ${args.join(' ') || '(defaults)'}`, async () => {
    const { stdout } = await run(process.execPath, [weftBin, 'iptables', '--dry-run', ...args]);
    const file = path.join(goldenDir, `${name}.rules`);
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, stdout);
    assert.ok(fs.existsSync(file), `${file} missing: run UPDATE_GOLDEN=1 npm test`);
    assert.equal(stdout, fs.readFileSync(file, 'utf8'), `${name}.rules differs from its golden file (UPDATE_GOLDEN=1 npm test to accept)`);
  });

const badFlags: Array<{ name: string; raw: RawCaptureSettings; error: RegExp }> = [
  { name: 'a word in a port list', raw: { includeInboundPorts: '80,abc' }, error: /--include-inbound-ports: "abc" is not a port/ },
  { name: 'port 0', raw: { excludeOutboundPorts: '0' }, error: /--exclude-outbound-ports: "0" is not a port/ },
  { name: 'port above 65535', raw: { outboundPort: '70000' }, error: /--outbound-port: "70000" is not a port/ },
  { name: "'*' where only ports go", raw: { excludeInboundPorts: '*' }, error: /--exclude-inbound-ports: "\*" is not a port \(1-65535\)$/ },
  { name: 'prefix too long', raw: { excludeOutboundCidrs: '10.0.0.0/33' }, error: /--exclude-outbound-cidrs: "10.0.0.0\/33" is not a CIDR/ },
  { name: 'not an address', raw: { includeOutboundCidrs: '10.0.0/8' }, error: /--include-outbound-cidrs: "10.0.0\/8" is not a CIDR/ },
  { name: "'*' as an excluded CIDR", raw: { excludeOutboundCidrs: '*' }, error: /--exclude-outbound-cidrs: "\*" is not a CIDR/ },
  { name: 'bad IPv6 prefix', raw: { excludeOutboundCidrs: 'fd00::/129' }, error: /"fd00::\/129" is not a CIDR/ },
  { name: 'an interface name with a space', raw: { excludeInterfaces: 'eth 0' }, error: /--exclude-interfaces: "eth 0" is not an interface name/ },
  { name: 'a uid that is a name', raw: { proxyUid: 'istio' }, error: /--proxy-uid: "istio" is not a uid/ },
  { name: 'an unknown ipv6 mode', raw: { ipv6: 'yes' }, error: /--ipv6: "yes" is not auto, on or off/ },
  { name: 'the same port for both captures', raw: { outboundPort: '15006' }, error: /--inbound-port: 15006 is also the outbound port/ },
];
for (const c of badFlags)
  test(`bad flag: ${c.name}`, () => {
    assert.throws(
      () => settings(c.raw),
      (e: unknown) => e instanceof CaptureError && e.code === 'WEFT_E_CAPTURE_BAD_SETTING' && c.error.test(e.message),
    );
  });

test('every bad flag is reported at once, and the CLI exits 2 with the code', async () => {
  const err = await run(process.execPath, [weftBin, 'iptables', '--dry-run', '-b', 'x', '-x', 'y', '--ipv6', 'z']).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.stderr, /WEFT_E_CAPTURE_BAD_SETTING: --include-inbound-ports: "x".*; --exclude-outbound-cidrs: "y".*; --ipv6: "z"/);
});

test("include-inbound-ports '' captures no inbound: no PREROUTING jump, no proxy redirect to 15006", () => {
  const rules = buildNatRules(settings({ includeInboundPorts: '' }), 4);
  assert.ok(!rules.some((r) => r.startsWith('-A PREROUTING')));
  assert.ok(!rules.some((r) => r.includes('-j WEFT_IN_REDIRECT')));
  assert.ok(rules.includes('-A OUTPUT -j WEFT_OUTPUT'));
});

test('an excluded inbound port wins over the same port in the include list', () => {
  const rules = buildNatRules(settings({ includeInboundPorts: '9080', excludeInboundPorts: '9080' }), 4);
  const ret = rules.indexOf('-A WEFT_INBOUND -p tcp -m tcp --dport 9080 -j RETURN');
  const redirect = rules.indexOf('-A WEFT_INBOUND -p tcp -m tcp --dport 9080 -j WEFT_IN_REDIRECT');
  assert.ok(ret >= 0 && redirect > ret);
});

test('a loopback CIDR in include-outbound-cidrs keeps the app-over-lo traffic captured (no lo RETURN)', () => {
  const rules = buildNatRules(settings({ includeOutboundCidrs: '127.0.0.1/32' }), 4);
  assert.ok(!rules.some((r) => r.includes('-o lo -m owner ! --uid-owner')));
  assert.ok(rules.includes('-A WEFT_OUTPUT -d 127.0.0.1/32 -j WEFT_REDIRECT'));
});

// What iptables-save prints after a first run, with a user's own rules around it.
const earlierSave = `# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:USER_CHAIN - [0:0]
:WEFT_INBOUND - [0:0]
:WEFT_IN_REDIRECT - [0:0]
:WEFT_OUTPUT - [0:0]
:WEFT_REDIRECT - [0:0]
-A PREROUTING -p tcp -j WEFT_INBOUND
-A PREROUTING -p udp -j USER_CHAIN
-A OUTPUT -j WEFT_OUTPUT
-A USER_CHAIN -j RETURN
-A WEFT_OUTPUT -j WEFT_REDIRECT
-A WEFT_REDIRECT -p tcp -j REDIRECT --to-ports 15001
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;

test("a second run's restore input deletes the first run's jumps and redeclares (flushes) Weft's chains only", () => {
  const input = buildApply(settings({}), 4, earlierSave).split('\n');
  assert.ok(input.includes('-D PREROUTING -p tcp -j WEFT_INBOUND'));
  assert.ok(input.includes('-D OUTPUT -j WEFT_OUTPUT'));
  assert.ok(!input.some((l) => l.includes('USER_CHAIN') || l.includes('--dport 22')), 'the user rules are not touched');
  assert.ok(input.indexOf('-D OUTPUT -j WEFT_OUTPUT') < input.indexOf('-A OUTPUT -j WEFT_OUTPUT'));
  assert.equal(input.filter((l) => l === '-A OUTPUT -j WEFT_OUTPUT').length, 1);
});

test('cleanup input removes exactly the jumps and the four chains, nothing of the user', () => {
  assert.equal(
    buildCleanup(earlierSave),
    ['*nat', '-D PREROUTING -p tcp -j WEFT_INBOUND', '-D OUTPUT -j WEFT_OUTPUT', ...['-F', '-X'].flatMap((op) => ['WEFT_INBOUND', 'WEFT_IN_REDIRECT', 'WEFT_OUTPUT', 'WEFT_REDIRECT'].map((c) => `${op} ${c}`)), 'COMMIT', ''].join('\n'),
  );
  assert.equal(buildCleanup('*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j USER_CHAIN\nCOMMIT\n'), '');
  assert.deepEqual([...findWeftRules(earlierSave).keys()], ['nat']);
});
