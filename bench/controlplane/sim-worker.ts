// A child process hosting many simulated proxies, driven by the harness over IPC. Two of these
// share the load of 2,000 streams on this 2-core machine.
import { SimDeltaProxy } from './sim-delta-proxy.js';
import { markWindow, now, SimProxy, windowStats, type SimClient, type SimIdentity } from './sim-proxy.js';
import type { XdsProtocol, XdsType } from '../../src/api/envoy.js';

export type WorkerCommand =
  | { cmd: 'connect'; xds: string; protocol: XdsProtocol; proxies: SimIdentity[]; perBatch: number; batchEveryMs: number }
  | { cmd: 'mark' }
  | { cmd: 'progress'; type: XdsType; exclude: number[] }
  | { cmd: 'collect'; type: XdsType; exclude: number[] }
  | { cmd: 'leave'; index: number }
  | { cmd: 'close' };

export interface Progress {
  connected: number;
  synced: number;
  errors: string[];
  /** Streams that failed and were reopened (with backoff), summed over proxies. */
  reconnects: number;
  /** Proxies that ACKed a response of the asked type since the mark. */
  updated: number;
  responses: number;
  lastResponseAt: number;
}

export interface Collected extends Progress {
  /** Per proxy that ACKed the type since the mark: time of its last ACK of that type. */
  ackTimes: number[];
  bytes: number;
  byType: typeof windowStats.byType;
  decodeErrors: number;
}

const proxies = new Map<number, SimClient>();
let xdsAddress = '';

function progress(type: XdsType, exclude: number[]): Progress {
  let synced = 0;
  let updated = 0;
  let reconnects = 0;
  const errors: string[] = [];
  for (const p of proxies.values()) {
    if (p.synced) synced++;
    reconnects += p.reconnects;
    if (p.error && errors.length < 5) errors.push(`${p.id}: ${p.error}`);
    if (!exclude.includes(p.who.index) && (p.types.get(type)?.ackedAt ?? 0) >= windowStats.since) updated++;
  }
  return { connected: proxies.size, synced, errors, reconnects, updated, responses: windowStats.responses, lastResponseAt: windowStats.lastResponseAt };
}

async function connect(protocol: XdsProtocol, list: SimIdentity[], perBatch: number, everyMs: number): Promise<void> {
  // Staggered, as a fleet (re)connects over a moment rather than in one instant.
  for (let i = 0; i < list.length; i += perBatch) {
    for (const who of list.slice(i, i + perBatch)) {
      const p = protocol === 'delta' ? new SimDeltaProxy(who, xdsAddress) : new SimProxy(who, xdsAddress, () => {});
      proxies.set(who.index, p);
      p.start();
    }
    if (i + perBatch < list.length) await new Promise((r) => setTimeout(r, everyMs));
  }
}

function reply(id: number, body: unknown): void {
  process.send?.({ id, body });
}

process.on('message', (m: { id: number; command: WorkerCommand }) => {
  const c = m.command;
  switch (c.cmd) {
    case 'connect':
      xdsAddress = c.xds;
      void connect(c.protocol, c.proxies, c.perBatch, c.batchEveryMs).then(() => reply(m.id, { at: now() }));
      return;
    case 'mark':
      markWindow();
      return reply(m.id, { at: windowStats.since });
    case 'progress':
      return reply(m.id, progress(c.type, c.exclude));
    case 'collect': {
      const ackTimes: number[] = [];
      for (const p of proxies.values()) {
        if (c.exclude.includes(p.who.index)) continue;
        const t = p.types.get(c.type)?.ackedAt ?? 0;
        if (t >= windowStats.since) ackTimes.push(t);
      }
      const body: Collected = {
        ...progress(c.type, c.exclude),
        ackTimes,
        bytes: windowStats.bytes,
        byType: windowStats.byType,
        decodeErrors: windowStats.decodeErrors,
      };
      return reply(m.id, body);
    }
    case 'leave': {
      const p = proxies.get(c.index);
      const at = now();
      p?.close();
      proxies.delete(c.index);
      return reply(m.id, { at });
    }
    case 'close':
      for (const p of proxies.values()) p.close();
      proxies.clear();
      reply(m.id, {});
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.send?.({ ready: true });
