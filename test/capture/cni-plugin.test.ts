// weft-cni with Debian's real CNI plugins (bridge, host-local, loopback), driven as a runtime drives a
// conflist: loopback, then ADD bridge -> weft-cni threading prevResult, CHECK, DEL in reverse. The host
// side lives in a namespace this test made. weft-cni's result is the bridge's, the pod namespace holds
// exactly `weft iptables`'s rules (and they capture real traffic), opt-out pods get none, DEL is
// idempotent, and every error is the spec's JSON with the spec's code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CniRuntime, type ConfList, type PodRef } from '../helpers/cni-runtime.js';
import { CONNECT_JS, REPORTER_JS } from '../helpers/capture-peers.js';
import { TestNet } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { repoRoot } from '../helpers/paths.js';
import { buildNatRules } from '../../src/capture/rules.js';
import { parseCaptureSettings } from '../../src/capture/settings.js';

const SUBNET = '198.18.1.0/24';
const GATEWAY = '198.18.1.1';

privilegedSuite('weft-cni chained after bridge + host-local (real CNI plugins)', ['netns', 'iptables', 'cni'], () => {
  let net: TestNet;
  let runtime: CniRuntime;
  let dir: string;
  let list: ConfList;
  const weftCni = (extra: Record<string, unknown> = {}) => ({ type: 'weft-cni', capture: { excludeOutboundPorts: '5432' }, podAnnotationsFile: path.join(dir, 'annotations.json'), ...extra });

  const pod = async (name: string, namespace = 'default'): Promise<PodRef> => ({
    containerId: `${net.id}-${name}`,
    netns: `/run/netns/${await net.addNamespace(name)}`,
    ifname: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${net.id}-${name}`,
  });
  const nsName = (p: PodRef) => path.basename(p.netns);
  const weftRules = async (p: PodRef) => (await net.inNs(nsName(p), 'iptables-nft-save', [])).split('\n').filter((l) => l.includes('WEFT_'));

  before(async () => {
    net = await TestNet.create();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `wt-cni-${net.id}-`));
    fs.writeFileSync(
      path.join(dir, 'annotations.json'),
      JSON.stringify({
        'default/optout': { 'sidecar.istio.io/inject': 'false' },
        'default/tuned': { 'traffic.sidecar.istio.io/excludeOutboundPorts': '6379', 'traffic.weft.dev/includeInboundPorts': '9080' },
      }),
    );
    runtime = new CniRuntime(net.hub, { 'weft-cni': path.join(repoRoot, 'bin/weft-cni.js') });
    list = {
      cniVersion: '1.0.0',
      name: 'weft-test',
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(dir, 'leases') } },
        weftCni(),
      ],
    };
  });
  after(async () => {
    await net?.destroy();
    runtime?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('ADD: the result is the bridge result unchanged, the pod holds the rules, they capture; CHECK passes; DEL twice is fine', async () => {
    const web = await pod('web');
    await runtime.loopback(web, 'ADD');
    const [bridgeResult, weftResult] = await runtime.add(list, web);
    assert.deepEqual(weftResult, bridgeResult, 'prevResult passed through unchanged');
    assert.match(JSON.stringify(bridgeResult), /198\.18\.1\.\d+\/24/);

    const want = parseCaptureSettings({ excludeOutboundPorts: '5432' }, (k) => k);
    const expected = buildNatRules(want, 4).filter((l) => l.startsWith('-A '));
    assert.deepEqual((await weftRules(web)).filter((l) => l.startsWith('-A ')).sort(), [...expected].sort(), "exactly weft iptables's rules");

    // The rules work: the pod's outbound connection to the host side lands on its proxy port.
    const proxy = net.spawnIn(nsName(web), process.execPath, ['-e', REPORTER_JS, 'proxy', '15001']);
    await new Promise((resolve) => proxy.stdout!.once('data', resolve));
    const got = JSON.parse(await net.inNs(nsName(web), process.execPath, ['-e', CONNECT_JS, GATEWAY, '7000'])) as { by: string; via: number };
    assert.deepEqual(got, { ...got, by: 'proxy', via: 15001 });

    await runtime.check(list, web, weftResult);
    // CHECK notices a rule gone missing, and answers in the spec's error shape.
    await net.inNs(nsName(web), 'iptables-nft', ['-t', 'nat', '-D', 'WEFT_OUTPUT', '-j', 'WEFT_REDIRECT']);
    const broken = await runtime.exec('CHECK', web, { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test', prevResult: weftResult });
    assert.notEqual(broken.code, 0);
    assert.equal(broken.json?.code, 104);
    assert.match(String(broken.json?.details), /WEFT_E_CNI_CHECK: pod default\/web .*1 rule\(s\) missing \(first: -A WEFT_OUTPUT -j WEFT_REDIRECT\)/);

    await runtime.del(list, web, weftResult);
    assert.deepEqual(await weftRules(web), [], 'DEL removed the chains');
    await runtime.del(list, web, weftResult);
    await runtime.loopback(web, 'DEL');
    await net.inNs(net.hub, 'ip', ['link', 'show', 'cni0']);
  });

  test('DEL after the namespace is gone succeeds', async () => {
    const gone = await pod('gone');
    await runtime.loopback(gone, 'ADD');
    const results = await runtime.add(list, gone);
    // The runtime deletes the pod's namespace before (or without) calling DEL.
    execFileSync('ip', ['netns', 'del', nsName(gone)]);
    await runtime.del(list, gone, results.at(-1));
    const again = await runtime.exec('DEL', { containerId: gone.containerId, ifname: 'eth0' }, { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test' });
    assert.equal(again.code, 0, again.stdout);
  });

  test('pods that opt out (annotation, excluded namespace) get no rules; annotations tune the rules', async () => {
    for (const [name, namespace, reason] of [
      ['optout', 'default', /annotation sidecar.istio.io\/inject: "false"/],
      ['dns', 'kube-system', /namespace kube-system is in excludeNamespaces/],
    ] as const) {
      const p = await pod(name, namespace);
      await runtime.loopback(p, 'ADD');
      const [bridgeResult, weftResult] = await runtime.add(list, p);
      assert.deepEqual(weftResult, bridgeResult);
      assert.deepEqual(await weftRules(p), [], `${namespace}/${name} has no capture`);
      const r = await runtime.exec('ADD', p, { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test', prevResult: bridgeResult });
      assert.match(r.stderr, reason);
      await runtime.del(list, p, weftResult);
    }
    // Annotations the runtime passes (containerd's pod-annotations capability) win over the lookup file.
    const viaRuntime = await pod('tuned-but-runtime-says-no');
    const prev = { cniVersion: '1.0.0', interfaces: [], ips: [] };
    const r = await runtime.exec('ADD', viaRuntime, { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test', prevResult: prev, runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { 'weft.dev/inject': 'false' } } });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json, prev);
    assert.match(r.stderr, /skipped \(annotation weft.dev\/inject: "false"\)/);
    assert.deepEqual(await weftRules(viaRuntime), []);

    const tuned = await pod('tuned');
    await runtime.loopback(tuned, 'ADD');
    const results = await runtime.add(list, tuned);
    const rules = await weftRules(tuned);
    assert.ok(rules.includes('-A WEFT_OUTPUT -p tcp -m tcp --dport 6379 -j RETURN'), 'the annotation replaced the excluded outbound ports');
    assert.ok(!rules.some((l) => l.includes('--dport 5432')));
    assert.ok(rules.includes('-A WEFT_INBOUND -p tcp -m tcp --dport 9080 -j WEFT_IN_REDIRECT'));
    assert.ok(!rules.includes('-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT'));
    await runtime.del(list, tuned, results.at(-1));
  });

  test('VERSION lists the spec versions', async () => {
    const r = await runtime.exec('VERSION', {}, { cniVersion: '1.0.0' });
    assert.equal(r.code, 0);
    assert.deepEqual(r.json, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });

  test("errors are the spec's JSON with the spec's codes", async () => {
    const p = await pod('errors');
    const base = { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test', prevResult: { cniVersion: '1.0.0', interfaces: [], ips: [] } };
    const cases: Array<{ name: string; config: Record<string, unknown> | string; pod?: Partial<PodRef>; code: number; details: RegExp }> = [
      { name: 'unknown version', config: { ...base, cniVersion: '9.9.9' }, code: 1, details: /WEFT_E_CNI_VERSION: cniVersion "9.9.9"/ },
      { name: 'unknown field', config: { ...base, capture: { includeInboundPort: '80' } }, code: 2, details: /WEFT_E_CNI_UNSUPPORTED_FIELD: unknown field\(s\): capture.includeInboundPort/ },
      { name: 'no CNI_NETNS on ADD', config: base, pod: { ...p, netns: '' }, code: 4, details: /WEFT_E_CNI_ENV: CNI_NETNS is required for ADD/ },
      { name: 'not JSON', config: '{"cniVersion": "1.0.0",', code: 6, details: /WEFT_E_CNI_DECODE: stdin: / },
      { name: 'bad capture setting', config: { ...base, capture: { includeInboundPorts: '80,abc' } }, code: 7, details: /WEFT_E_CNI_CONFIG: capture.includeInboundPorts: "abc" is not a port/ },
      { name: 'not chained', config: { ...weftCni(), cniVersion: '1.0.0', name: 'weft-test' }, code: 7, details: /WEFT_E_CNI_CONFIG: no prevResult/ },
      { name: 'lookup file missing', config: { ...base, podAnnotationsFile: path.join(dir, 'absent.json') }, code: 11, details: /WEFT_E_CNI_LOOKUP: podAnnotationsFile .*absent.json/ },
      { name: 'netns that does not exist', config: base, pod: { ...p, netns: `${p.netns}-absent` }, code: 3, details: /WEFT_E_CAPTURE_NETNS: cannot enter network namespace/ },
    ];
    for (const c of cases) {
      const r = await runtime.exec('ADD', c.pod ?? p, c.config);
      assert.notEqual(r.code, 0, `${c.name}: exit status`);
      assert.ok(r.json, `${c.name}: JSON on stdout (${r.stdout})`);
      assert.deepEqual(Object.keys(r.json).sort(), ['cniVersion', 'code', 'details', 'msg'], c.name);
      assert.equal(r.json.code, c.code, `${c.name}: ${r.stdout}`);
      assert.match(String(r.json.details), c.details, c.name);
    }
  });
});
