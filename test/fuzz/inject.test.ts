// Injection on generated pods: either a clear InjectError or a pod that passes the output checks;
// injecting the result again changes nothing; and the YAML door (the JSON Patch applied to the
// document's nodes) gives exactly the mutation's output, whatever the pod's shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { InjectError } from '../../src/inject/errors.js';
import { injectManifest } from '../../src/inject/manifest.js';
import { injectPod } from '../../src/inject/mutate.js';
import { defaultInjectOptions, type InjectOptions } from '../../src/inject/options.js';
import type { PodTemplate } from '../../src/inject/types.js';
import { assertValidInjectedPod } from '../inject/pod-checks.js';
import { fuzzParams, fuzzTimeout } from './options.js';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const port = fc.integer({ min: 1, max: 65535 });
const probe = (ports: fc.Arbitrary<number | string>) =>
  fc.oneof(
    fc.record({ httpGet: fc.record({ port: ports, path: fc.constantFrom('/', '/healthz', undefined) }, { requiredKeys: ['port'] }), periodSeconds: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: ['httpGet'] }),
    fc.record({ tcpSocket: fc.record({ port: ports }) }),
    fc.record({ grpc: fc.record({ port }) }),
    fc.record({ exec: fc.record({ command: fc.constant(['true']) }) }),
  );
const container = fc
  .record({ name, image: fc.constantFrom('app', 'nginx:1.27'), ports: fc.uniqueArray(fc.record({ name: fc.option(name, { nil: undefined }), containerPort: port }), { maxLength: 3, selector: (p) => p.containerPort }) })
  .chain((c) => {
    const own = c.ports.flatMap((p) => [p.containerPort, ...(p.name ? [p.name] : [])]);
    const ports = own.length ? fc.oneof(fc.constantFrom(...own), port) : port;
    return fc.record({ c: fc.constant(c), liveness: fc.option(probe(ports), { nil: undefined }), readiness: fc.option(probe(ports), { nil: undefined }) });
  })
  .map(({ c, liveness, readiness }) => ({ ...c, ports: c.ports.map((p) => (p.name ? p : { containerPort: p.containerPort })), ...(liveness ? { livenessProbe: liveness } : {}), ...(readiness ? { readinessProbe: readiness } : {}) }));
const annotations = fc.dictionary(
  fc.constantFrom('traffic.sidecar.istio.io/excludeOutboundPorts', 'traffic.weft.dev/includeInboundPorts', 'sidecar.istio.io/proxyCPU', 'traffic.sidecar.istio.io/excludeOutboundIPRanges', 'proxy.istio.io/config', 'sidecar.istio.io/nativeSidecar'),
  fc.constantFrom('80', '8080,9090', '*', '100m', '10.0.0.0/8', 'holdApplicationUntilProxyStarts: false', 'true', 'false', 'bogus'),
  { maxKeys: 3 },
);
const pod = fc
  .record({
    metadata: fc.record({ name: fc.option(name, { nil: undefined }), labels: fc.option(fc.dictionary(fc.constantFrom('app', 'version', 'tier'), name, { maxKeys: 3 }), { nil: undefined }), annotations: fc.option(annotations, { nil: undefined }) }, { requiredKeys: [] }),
    spec: fc.record({
      containers: fc.uniqueArray(container, { minLength: 1, maxLength: 3, selector: (c) => c.name }),
      initContainers: fc.option(fc.uniqueArray(fc.record({ name: name.map((n) => `init-${n}`), image: fc.constant('busybox') }), { minLength: 1, maxLength: 2, selector: (c) => c.name }), { nil: undefined }),
      volumes: fc.option(fc.uniqueArray(fc.record({ name: name.map((n) => `vol-${n}`), emptyDir: fc.constant({}) }), { maxLength: 2, selector: (v) => v.name }), { nil: undefined }),
    }, { requiredKeys: ['containers'] }),
  })
  .map((p) => JSON.parse(JSON.stringify(p)) as PodTemplate);
const options = fc.record({ nativeSidecar: fc.boolean(), cni: fc.boolean() }).map((o): InjectOptions => ({ ...defaultInjectOptions, ...o }));

test('injection of generated pods: a clear error or a valid pod; idempotent; the YAML door equals the mutation', { timeout: fuzzTimeout }, () => {
  let injected = 0;
  fc.assert(
    fc.property(pod, options, (p, o) => {
      let result;
      try {
        result = injectPod(p, o);
      } catch (err) {
        assert.ok(err instanceof InjectError, `only InjectError: ${(err as Error).stack}`);
        assert.ok(err.problems.every((x) => /^WEFT_E_INJECT_/.test(x.code) && x.message.length > 0));
        return;
      }
      if (!result.injected) return;
      injected++;
      assertValidInjectedPod(result.pod, 'generated pod');
      assert.deepEqual(injectPod(result.pod, o), { injected: false, reason: 'already injected (weft.dev/status)' });
      const asYaml = stringify({ apiVersion: 'v1', kind: 'Pod', ...p });
      const viaYaml = injectManifest(asYaml, 'pod.yaml', o);
      assert.deepEqual(viaYaml.errors, []);
      assert.deepEqual(parseYaml(viaYaml.output), { apiVersion: 'v1', kind: 'Pod', ...result.pod });
    }),
    fuzzParams(150),
  );
  assert.ok(injected > 30, `${injected} of the generated pods were injected (the generator must mostly make injectable pods)`);
});
