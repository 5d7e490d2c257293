// `weft analyze` through the real binary (bin/weft.js → dist/src/cli/main.js), as a user runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fixturesDir, repoRoot } from './helpers.js';

const run = promisify(execFile);

async function weft(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'bin', 'weft.js'), ...args], { cwd: repoRoot });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '' };
  }
}

const networking = join(fixturesDir, 'istio', 'bookinfo', 'networking');

const BAD = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v2}
      weight: "abc"
`;

describe('weft analyze', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-analyze-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a good file: exit 0 and a clean summary', async () => {
    const { code, stdout } = await weft('analyze', join(networking, 'virtual-service-reviews-80-20.yaml'));
    assert.equal(code, 0);
    assert.equal(stdout, '0 errors in 0 of 1 file; 1 resource valid\n');
  });

  it('skipped kinds are named in the summary', async () => {
    const { code, stdout } = await weft('analyze', join(networking, 'bookinfo-gateway.yaml'), join(networking, 'destination-rule-all.yaml'));
    assert.equal(code, 0);
    assert.match(stdout, /^0 errors in 0 of 2 files; 5 resources valid; skipped: Gateway default\/bookinfo-gateway \(bookinfo-gateway\.yaml\)\n$/);
  });

  it('a bad file: exit 1, the error names file, line, resource and field', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, BAD);
    const { code, stdout } = await weft('analyze', bad);
    assert.equal(code, 1);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${bad}: document 2 (line 17): VirtualService default/reviews: spec.http[0].route[1].weight: must be an integer >= 0, got "abc" [WEFT_E_TYPE]`);
    assert.equal(lines.at(-1), '1 error in 1 of 1 file; 0 resources valid; skipped: Gateway default/gw (bad.yaml)');
  });

  it('a directory: its *.yaml files, with duplicates across files reported', async () => {
    const sub = join(dir, 'conf');
    await mkdir(sub);
    const vs = (subset: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: ${subset}}\n`;
    await writeFile(join(sub, 'a.yaml'), vs('v1'));
    await writeFile(join(sub, 'b.yml'), vs('v2'));
    await writeFile(join(sub, 'notes.txt'), 'not config');
    const { code, stdout } = await weft('analyze', sub);
    assert.equal(code, 1);
    assert.match(stdout, /b\.yml: document 1 \(line 1\): VirtualService default\/reviews: metadata\.name: also defined in .*a\.yaml .*\[WEFT_E_DUPLICATE_RESOURCE\]/);
    assert.match(stdout, /1 error in 1 of 2 files; 1 resource valid\n$/);
  });

  it('security.istio.io kinds are analyzed like the others (the fixtures: valid, one DestinationRule in two files)', async () => {
    const security = join(fixturesDir, 'istio', 'security');
    const { code, stdout } = await weft('analyze', security);
    assert.equal(code, 1);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /beta-per-port-mtls\.yaml: document 2 \(line 18\): DestinationRule default\/default: metadata\.name: also defined in .*beta-mtls-on\.yaml .*\[WEFT_E_DUPLICATE_RESOURCE\]$/);
    assert.equal(lines[1], '1 error in 1 of 9 files; 14 resources valid');
    const bad = join(dir, 'bad-security.yaml');
    await writeFile(bad, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: foo}
spec:
  action: CUSTOM
  provider: {name: opa}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p}
spec:
  portLevelMtls: {8080: {mode: STRICT}}
`);
    const r = await weft('analyze', bad);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      `${bad}: document 1 (line 5): AuthorizationPolicy foo/ext: spec.action: CUSTOM is not supported yet (no external authorizer); use ALLOW, DENY or AUDIT [WEFT_E_UNSUPPORTED]`,
      `${bad}: document 2 (line 12): PeerAuthentication default/p: spec.portLevelMtls: portLevelMtls applies only with a selector that has matchLabels (ports are a workload's ports) [WEFT_E_CONFLICT]`,
      '2 errors in 1 of 1 file; 0 resources valid',
    ]);
  });

  it('warns (exit 0) where a STRICT PeerAuthentication selects a workload without a sidecar', async () => {
    const sub = join(dir, 'strict');
    await mkdir(sub);
    await writeFile(join(sub, 'mesh.yaml'), `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: legacy, namespace: default }
spec:
  selector: { matchLabels: { app: legacy } }
  mtls: { mode: PERMISSIVE }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: db-port, namespace: db }
spec:
  selector: { matchLabels: { app: db } }
  mtls: { mode: PERMISSIVE }
  portLevelMtls: { 5432: { mode: STRICT } }
`);
    await writeFile(join(sub, 'workloads.yaml'), `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-plain }
spec: { address: 198.18.0.10, labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-meshed }
spec: { address: 198.18.0.11, labels: { app: ratings, security.istio.io/tlsMode: istio } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-legacy }
spec: { address: 198.18.0.12, labels: { app: legacy } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: db }
spec:
  hosts: [db.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  endpoints: [{ address: 198.18.0.20, labels: { app: db } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external }
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 443, name: tls, protocol: TLS }]
  endpoints: [{ address: 198.18.0.30 }]
`);
    const { code, stdout } = await weft('analyze', sub);
    assert.equal(code, 0, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, stdout);
    assert.match(lines[0], /^warning: .*mesh\.yaml: document 1 \(line 1\): PeerAuthentication istio-system\/default: spec\.mtls\.mode: STRICT selects WorkloadEntry default\/vm-plain, which has no sidecar \(no security\.istio\.io\/tlsMode=istio label\).*not enforced for it \[WEFT_E_STRICT_WITHOUT_SIDECAR\]$/);
    assert.match(lines[1], /^warning: .*mesh\.yaml: document 3 .*PeerAuthentication db\/db-port: spec\.portLevelMtls\.5432\.mode: STRICT on port 5432 selects ServiceEntry db\/db endpoint 198\.18\.0\.20 \(spec\.endpoints\[0\]\)/);
    assert.equal(lines[2], '0 errors in 0 of 2 files; 8 resources valid; 2 warnings');
    const json = JSON.parse((await weft('analyze', '--output', 'json', sub)).stdout) as { warnings: Array<{ code: string; resource: string }> };
    assert.deepEqual(json.warnings.map((w) => `${w.code} ${w.resource}`), ['WEFT_E_STRICT_WITHOUT_SIDECAR PeerAuthentication istio-system/default', 'WEFT_E_STRICT_WITHOUT_SIDECAR PeerAuthentication db/db-port']);
  });

  it('SMI: the fixtures load; what a TrafficTarget names but Weft cannot enforce is a warning naming target and field', async () => {
    const smi = join(fixturesDir, 'smi');
    const fixtures = await weft('analyze', join(smi, 'traffic-access-4.yaml'), join(smi, 'traffic-access-5.yaml'));
    assert.equal(fixtures.code, 0, fixtures.stdout);
    assert.deepEqual(fixtures.stdout.trimEnd().split('\n').map((l) => l.replace(smi, '<smi>')), [
      'warning: <smi>/traffic-access-5.yaml: document 3 (line 20): TrafficTarget default/protocal-specific: spec.rules[1].kind: kind UDPRoute is not supported (TCPRoute and HTTPRouteGroup are); the rule allows nothing [WEFT_E_SMI_NOT_ENFORCED]',
      '0 errors in 0 of 2 files; 6 resources valid; 1 warning; skipped: UDPRoute default/udp-ports (traffic-access-5.yaml)',
    ]);
    const bad = join(dir, 'smi-refs.yaml');
    await writeFile(bad, `kind: TrafficTarget
metadata: { name: api }
spec:
  destination: { kind: ServiceAccount, name: api }
  rules:
  - { kind: HTTPRouteGroup, name: api-routes, matches: [read, wirte] }
  - { kind: TCPRoute, name: no-such-route }
  sources: [{ kind: ServiceAccount, name: web }]
---
kind: HTTPRouteGroup
metadata: { name: api-routes }
spec:
  matches:
  - { name: read, pathRegex: "/api/v[0-9]+/.*", methods: [GET] }
`);
    const r = await weft('analyze', bad);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.replace(`${bad}: document 1 (line 1): TrafficTarget default/api: `, '')), [
      'warning: spec.rules[0]: HTTPRouteGroup api-routes match read: pathRegex "/api/v[0-9]+/.*" is not an exact path, a prefix or a suffix; the match is left out [WEFT_E_SMI_NOT_ENFORCED]',
      'warning: spec.rules[0].matches[1]: HTTPRouteGroup api-routes has no match "wirte" [WEFT_E_SMI_NOT_ENFORCED]',
      'warning: spec.rules[1]: TCPRoute default/no-such-route not found; the rule allows nothing [WEFT_E_SMI_NOT_ENFORCED]',
      '0 errors in 0 of 1 file; 2 resources valid; 3 warnings',
    ]);
  });

  it('findings across resources: an undefined subset is an error (exit 1), a rule after a catch-all a warning', async () => {
    const f = join(dir, 'traffic.yaml');
    await writeFile(f, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v1 } }]
  - route: [{ destination: { host: reviews, subset: v2 } }]
`);
    const { code, stdout } = await weft('analyze', f);
    assert.equal(code, 1, stdout);
    assert.deepEqual(stdout.trimEnd().split('\n').map((l) => l.replace(`${f}: document 2 (line 8): VirtualService default/reviews: `, '')), [
      'warning: spec.http[1]: http[1] is never used: the earlier rule http[0] matches every request (a catch-all), and the first matching rule wins [WEFT_E_RULE_UNREACHABLE; IST0131 VirtualServiceIneffectiveMatch]',
      'error: spec.http[1].route[0].destination.subset: referenced host+subset in DestinationRule not found: "reviews.default.svc.cluster.local+v2" (DestinationRule default/reviews defines v1); requests to it get 503 (NC) [WEFT_E_SUBSET_NOT_FOUND; IST0101 ReferencedResourceNotFound]',
      '0 errors in 0 of 1 file; 2 resources valid; 1 error finding; 1 warning',
    ]);
    const json = JSON.parse((await weft('analyze', '-o', 'json', f)).stdout) as { warnings: Array<{ level: string; istio: string }> };
    assert.deepEqual(json.warnings.map((w) => `${w.level} ${w.istio}`), ['warning IST0131 VirtualServiceIneffectiveMatch', 'error IST0101 ReferencedResourceNotFound']);
  });

  it('a missing path is an error', async () => {
    const { code, stdout } = await weft('analyze', join(dir, 'nope.yaml'));
    assert.equal(code, 1);
    assert.match(stdout, /nope\.yaml: cannot read: no such file or directory \[WEFT_E_READ_FILE\]/);
  });

  it('--output json', async () => {
    const bad = join(dir, 'bad-json.yaml');
    await writeFile(bad, BAD);
    const { code, stdout } = await weft('analyze', '--output', 'json', bad, join(networking, 'virtual-service-reviews-v3.yaml'));
    assert.equal(code, 1);
    const out = JSON.parse(stdout) as { errors: Array<{ code: string; path: string }>; skipped: Array<{ kind: string }>; resources: Array<{ kind: string; metadata: { name: string } }> };
    assert.deepEqual(out.errors.map((e) => [e.code, e.path]), [['WEFT_E_TYPE', 'spec.http[0].route[1].weight']]);
    assert.deepEqual(out.skipped.map((s) => s.kind), ['Gateway']);
    assert.deepEqual(out.resources.map((r) => `${r.kind}/${r.metadata.name}`), ['VirtualService/reviews']);
  });
});
