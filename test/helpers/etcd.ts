// A real etcd cluster (Debian's /usr/bin/etcd) on loopback for the store, registry and replica
// tests: N members, each with its own data directory under one temporary directory, started and
// stopped by PID; everything is removed even when the test fails. Members can be killed and
// restarted one by one (the "one member down changes nothing" and "all of etcd down" cases).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { terminate } from '../../src/demo/terminate.js';
import { freePorts, waitFor } from './processes.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: ChildProcess | undefined;
  output: () => string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Every member's client URL, comma-separated (what --etcd-endpoints takes). */
  endpoints: string;
  /** Kills one member (SIGKILL), keeping its data. */
  kill(i: number): Promise<void>;
  /** Starts a stopped member again with its data (rejoins the cluster). */
  restart(i: number): Promise<void>;
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts `size` members on free loopback ports and waits until the cluster answers a write. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  if (!fs.existsSync(ETCD_BIN)) throw new Error(`${ETCD_BIN} not found: install Debian's etcd-server (.ci/run does)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-etcd-'));
  const ports = await freePorts(size * 2);
  const token = `weft-${process.pid}-${Date.now()}`;
  const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: path.join(dir, `m${i}`),
    child: undefined,
    output: () => '',
  }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const start = (m: EtcdMember, state: 'new' | 'existing') => {
    const child = spawn(ETCD_BIN, [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', token,
      // Fast elections on loopback: a killed member's leadership moves in about a second.
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer) => {
      out += b.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', () => live.delete(child));
    live.add(child);
    m.child = child;
    m.output = () => out;
  };
  members.forEach((m) => start(m, 'new'));
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    async kill(i) {
      const m = members[i];
      m.child?.kill('SIGKILL');
      if (m.child && m.child.exitCode === null) await new Promise((r) => m.child!.once('exit', r));
      m.child = undefined;
    },
    async restart(i) {
      start(members[i], 'existing');
      await healthy(members[i]);
    },
    async stop() {
      await Promise.all(members.map((m) => (m.child ? terminate(m.child) : undefined)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => healthy(m)));
  } catch (e) {
    const logs = members.map((m) => `--- ${m.name}\n${m.output().slice(-2000)}`).join('\n');
    await cluster.stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return cluster;
}

/** The member's /health says true (it has a leader and can serve). */
async function healthy(m: EtcdMember): Promise<void> {
  await waitFor(`etcd ${m.name} healthy`, async () => {
    try {
      const res = await fetch(`${m.clientUrl}/health`);
      const body = (await res.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }, 20_000);
}
