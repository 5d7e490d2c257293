// The ListenerManager's side of use_original_dst: bind_to_port:false listeners are keyed by their
// address but never listen, the hand-off lookup finds exactly IP:port before 0.0.0.0:port, and such
// listeners are updated and removed like bound ones. (The hand-off itself, on really redirected
// connections, is test/capture/transparent-proxy.test.ts.)
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { ListenerManager } from '../../src/proxy/listener/listener-manager.js';
import type { TcpProxyRuntime } from '../../src/proxy/tcp/tcp-proxy.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import type { Listener } from '../../src/proxy/xds/model.js';
import { freePort } from './helpers/resources.js';
import { originalDstFilter, tcpProxy } from './helpers/transparent-resources.js';

function listener(raw: object): Listener {
  const v = validateResource('listener', unpackAny(packAny(TypeUrl.listener, raw)));
  assert.ok(v.valid, JSON.stringify(!v.valid && v.errors));
  return v.result as Listener;
}
const at = (host: string, port: number) => ({ socket_address: { address: host, port_value: port } });
const chains = [{ filters: [tcpProxy('t', 'c')] }];
/** No connection reaches it here: a runtime with nothing open. */
const idleTcpProxy = { connections: 0, destroy: () => {}, onConnection: (s: net.Socket) => s.destroy() } as unknown as TcpProxyRuntime;

describe('listeners that do not bind', () => {
  const manager = new ListenerManager({ terminals: { hcm: () => { throw new Error('no HCM here'); }, tcpProxy: () => idleTcpProxy }, drainTimeoutMs: 200 });
  after(() => manager.destroy());

  it('are keyed, looked up exactly then by wildcard, never bound, and removed cleanly', async () => {
    const [virtualPort, unboundPort] = [await freePort(), await freePort()];
    const set = [
      listener({ name: 'virtualOutbound', address: at('127.0.0.1', virtualPort), use_original_dst: { value: true }, listener_filters: [originalDstFilter], filter_chains: chains }),
      listener({ name: `0.0.0.0_${unboundPort}`, address: at('0.0.0.0', unboundPort), bind_to_port: { value: false }, filter_chains: chains }),
      listener({ name: `198.18.0.3_${unboundPort}`, address: at('198.18.0.3', unboundPort), bind_to_port: { value: false }, filter_chains: chains }),
    ];
    assert.deepEqual(await manager.apply(set), []);
    assert.equal(manager.lookup('198.18.0.3', unboundPort)?.name, `198.18.0.3_${unboundPort}`, 'exact IP:port first');
    assert.equal(manager.lookup('198.18.0.9', unboundPort)?.name, `0.0.0.0_${unboundPort}`, 'then 0.0.0.0:port');
    assert.equal(manager.lookup('198.18.0.9', unboundPort + 1), undefined);
    assert.equal(manager.lookup('127.0.0.1', virtualPort)?.name, 'virtualOutbound', 'bound listeners are found too');
    // Nothing listens on the unbound listener's port: it is ours to bind.
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(unboundPort, '0.0.0.0', resolve));
    await new Promise<void>((r) => probe.close(() => r()));
    // An update keeps them (in place) and a removal drains them without waiting on a socket they never had.
    assert.deepEqual(await manager.apply(set), []);
    assert.deepEqual(await manager.apply([set[0]]), []);
    assert.equal(manager.lookup('198.18.0.9', unboundPort), undefined);
    await manager.close();
  });
});
