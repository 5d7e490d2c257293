// SDS through the proxy's real applier as its Delta client hands responses over (a Proxy that is
// never started): the secrets clusters and listeners name become subscriptions, arrive in the
// proxy's SecretStore (only those subscribed), leave it when removed, make the proxy ready once all
// are there, and an invalid one is a NACK that changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packAny, TypeUrl } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import type { DeltaResource } from '../../src/proxy/xds/delta-client.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { testWorkload } from './helpers/proxy-under-test.js';
import { staticCluster } from './helpers/resources.js';
import { caSecret, certSecret, upstreamTls } from './helpers/tls-resources.js';

const res = (type: keyof typeof TypeUrl, body: { name: string }): DeltaResource => ({ name: body.name, version: 'v', aliases: [], resource: packAny(TypeUrl[type], body) });

describe('SDS in the proxy (Delta)', () => {
  const proxy = new Proxy({ xdsAddress: '127.0.0.1:1', workload: testWorkload, adminPort: 0 });
  const apply = proxy.applier.handleDelta;
  let ca: TestCa;
  let leaf: Leaf;

  before(() => {
    ca = createTestCa();
    leaf = ca.leaf('productpage');
  });
  after(() => {
    proxy.destroy();
    ca.dispose();
  });

  it('names from CDS become SDS subscriptions; secrets land in the store; readiness waits for them', async () => {
    const cds = await apply('cluster', { resources: [res('cluster', staticCluster('mesh', [1], { transport_socket: upstreamTls({ cert: 'client-cert', ca: 'mesh-ca' }) }) as { name: string })], removed: [], version: 'c1' });
    assert.deepEqual(cds, { ok: true, subscriptions: { endpoint: [], secret: ['client-cert', 'mesh-ca'] } });
    await apply('listener', { resources: [], removed: [], version: 'l1' });
    assert.equal(proxy.ready, false);
    assert.deepEqual(proxy.applier.missingSecrets(), ['client-cert', 'mesh-ca']);
    const sds = await apply('secret', { resources: [res('secret', certSecret('client-cert', leaf) as { name: string }), res('secret', caSecret('mesh-ca', ca.root) as { name: string }), res('secret', caSecret('not-asked-for', ca.root) as { name: string })], removed: [], version: 's1' });
    assert.deepEqual(sds, { ok: true });
    assert.deepEqual(proxy.secrets.names(), ['client-cert', 'mesh-ca']);
    assert.equal(proxy.ready, true);
    const recorded = proxy.applier.status.secret.resources.get('client-cert')!.raw as { tls_certificate: { private_key: unknown } };
    assert.deepEqual(recorded.tls_certificate.private_key, { inline_string: '[redacted]' }, 'the key is not kept for /config_dump');
  });

  it('an invalid secret is a NACK and changes nothing; a removed one leaves the store', async () => {
    const bad = await apply('secret', { resources: [res('secret', { name: 'mesh-ca', validation_context: { trusted_ca: { inline_string: 'nope' } } } as { name: string })], removed: [], version: 's2' });
    assert.deepEqual(bad, { ok: false, message: 'secret mesh-ca: validation_context.trusted_ca: holds no PEM certificate' });
    assert.equal(proxy.secrets.get('mesh-ca')?.kind, 'validation_context');
    assert.deepEqual(await apply('secret', { resources: [], removed: ['mesh-ca'], version: 's3' }), { ok: true });
    assert.deepEqual(proxy.secrets.names(), ['client-cert']);
    assert.equal(proxy.ready, false);
  });

  it('a cluster set without TLS drops the subscriptions', async () => {
    const cds = await apply('cluster', { resources: [res('cluster', staticCluster('mesh', [1]) as { name: string })], removed: [], version: 'c2' });
    assert.deepEqual(cds, { ok: true, subscriptions: { endpoint: [], secret: [] } });
    assert.equal(proxy.ready, true);
  });
});
