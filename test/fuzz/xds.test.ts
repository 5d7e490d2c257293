// Property-based fuzzing of the xDS edge of the proxy: any response — mutated Envoy messages,
// damaged bytes, Any envelopes of the wrong type, references to what does not exist — ends in a NACK
// whose every error names its resource and field, or in a typed model the proxy can run; never in
// an exception. Then whole sequences of responses through the proxy's real applier.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { decodeResources, validateResource } from '../../src/proxy/xds/decode.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { prototypeNames } from './http1-gen.js';
import { fuzzParams, fuzzTimeout } from './options.js';
import { deltaStep, hugeRoute, response, xdsType } from './xds-gen.js';

/** The longest delay Node's timers hold; a longer one fires after 1 ms instead (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const workload = { service: 'w', namespace: 'default', labels: {}, serviceAccount: 'default', address: '127.0.0.1', appPort: 1, servicePort: 1, outboundPort: 0, inboundPort: 0, protocol: 'HTTP' };

/** The field path of `<type> <name>: <path>: <message>`, if the error has that shape. */
function fieldPath(type: string, e: string): string | undefined {
  if (!e.startsWith(`${type} `)) return undefined;
  const parts = e.slice(type.length + 1).split(': ');
  return parts.length >= 3 && /^[a-z_]/.test(parts[1]) ? parts[1] : undefined;
}

/** Checks on a validated model: what the proxy will arm timers and open sockets with. */
function checkModel(v: unknown, path: string): void {
  if (typeof v !== 'object' || v === null || v instanceof RegExp || ArrayBuffer.isView(v)) return;
  for (const [k, x] of Object.entries(v)) {
    const at = `${path}.${k}`;
    if (/Ms$/.test(k) && typeof x === 'number') assert.ok(Number.isFinite(x) && x >= 0 && x <= MAX_TIMER_MS, `${at} = ${x} is not a delay a timer can hold`);
    if (k === 'port' && typeof x === 'number') assert.ok(Number.isInteger(x) && x >= 0 && x <= 65535, `${at} = ${x}`);
    checkModel(x, at);
  }
}

describe('fuzz: xDS resources given to the proxy', { timeout: fuzzTimeout }, () => {
  it('decode + validate: a NACK naming resource and field, or a model the proxy can run', () => {
    fc.assert(
      fc.property(
        xdsType.chain((type) => fc.tuple(fc.constant(type), response(type))),
        ([type, anys]) => {
          const d = decodeResources(type, anys);
          if (!d.valid) {
            assert.ok(d.errors.length > 0);
            for (const e of d.errors) {
              // `resources[i]: …` (the Any itself), or `<type> <name>: <field path>: …`.
              if (e.startsWith('resources[')) assert.match(e, /^resources\[\d+\]: /);
              else if (!e.endsWith('duplicate resource name in one response')) assert.ok(fieldPath(type, e), `names resource and field: ${e}`);
            }
            return;
          }
          for (const r of d.result) checkModel(r.model, `${type} ${r.name}`);
        },
      ),
      fuzzParams(600),
    );
  });

  it('safe_regex: a pattern that is not a regular expression on its own is NACKed, never rewrapped', () => {
    const pattern = fc.string({ unit: fc.constantFrom(...'()|a.*?[]^$\\'.split(''), '(?:', '(?i)'), maxLength: 10 });
    fc.assert(
      fc.property(pattern, (regex) => {
        let compiles = true;
        try {
          new RegExp(regex.replace(/^\(\?i\)/, ''));
        } catch {
          compiles = false;
        }
        const route = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex } }, direct_response: { status: 200 } }] }] };
        const v = validateResource('route', unpackAny(packAny(TypeUrl.route, route)));
        if (!compiles || regex === '') assert.ok(!v.valid, `${JSON.stringify(regex)} does not compile alone, yet was accepted`);
      }),
      fuzzParams(500),
    );
  });

  describe('through the applier of a proxy that is never started', () => {
    // Listeners are applied for real (bound on loopback); the generators only name 127.0.0.1
    // port 0, so nothing else on the machine is touched.
    const proxy = new Proxy({ xdsAddress: '127.0.0.1:1', xdsProtocol: 'sotw', workload, adminPort: 0 });
    after(() => proxy.destroy());

    it('a sequence of responses: each ACKed or NACKed with a message, never a throw', async () => {
      const step = xdsType.chain((type) => fc.tuple(fc.constant(type), response(type, { loopbackListeners: true })));
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.constantFrom(...prototypeNames, 'reviews', 'x.example.com'), async (steps, host) => {
          for (const [i, [type, anys]] of steps.entries()) {
            const outcome = await proxy.applier.handle(type, anys, `v${i}`);
            if (!outcome.ok) assert.ok(outcome.message.length > 0);
          }
          // What was applied can be read: route tables answer for any host.
          for (const name of ['r', 'inline']) proxy.routes.get(name)?.selectVirtualHost(host);
          proxy.configDump();
        }),
        fuzzParams(150, 0.1),
      );
    });

    it('a huge route configuration is applied whole', async () => {
      await fc.assert(
        fc.asyncProperty(hugeRoute, async (route) => {
          const outcome = await proxy.applier.handle('route', [packAny(TypeUrl.route, route)], 'huge');
          assert.ok(outcome.ok, !outcome.ok ? outcome.message : '');
        }),
        fuzzParams(3, 0.0005),
      );
    });
  });

  describe('through the Delta applier (with VHDS) of a proxy that is never started', () => {
    const proxy = new Proxy({ xdsAddress: '127.0.0.1:1', xdsProtocol: 'delta', workload, adminPort: 0, onDemandTimeoutMs: 1 });
    after(() => proxy.destroy());

    it('upserts, removals and virtual hosts: each ACKed or NACKed, on-demand requests always answered', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(deltaStep, { minLength: 1, maxLength: 6 }), fc.constantFrom('a', 'b', '__proto__', 'x.example.com'), async (steps, host) => {
          const waiting = proxy.onDemand.request('v', host);
          for (const [type, update] of steps) {
            const outcome = await proxy.applier.handleDelta(type, update);
            if (!outcome.ok) assert.ok(outcome.message.length > 0);
          }
          for (const name of ['r', 'v', 'inline']) proxy.routes.get(name)?.selectVirtualHost(host);
          proxy.configDump();
          assert.ok(['found', 'missing', 'rejected', 'timeout'].includes(await waiting));
        }),
        fuzzParams(150, 0.1),
      );
    });
  });
});
