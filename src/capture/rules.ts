// The capture rule set, pure: settings -> iptables-restore text for one address family. The order is
// Istio's istio-iptables (REDIRECT mode) with Weft's chain names; the rule text is written the way
// iptables-save prints it, so what `--dry-run` shows is what `iptables-save` reads back.
import { PROXY_OWN_PORTS, type CaptureSettings, type Cidr } from './settings.js';

export const WEFT_CHAINS = ['WEFT_INBOUND', 'WEFT_IN_REDIRECT', 'WEFT_OUTPUT', 'WEFT_REDIRECT'] as const;

export type Family = 4 | 6;

const LOOPBACK: Record<Family, string> = { 4: '127.0.0.1/32', 6: '::1/128' };
/** Source of the connections the proxy's inbound side makes to the app (Istio's passthrough source). */
export const INBOUND_PASSTHROUGH_SOURCE: Record<Family, string> = { 4: '127.0.0.6/32', 6: '::6/128' };
const DNS = 53;

const tcpPort = (port: number) => `-p tcp -m tcp --dport ${port}`;
const udpPort = (port: number) => `-p udp -m udp --dport ${port}`;

/** Inbound ports never redirected: the proxy's own, then the user's exclusions. */
export function inboundReturnPorts(s: CaptureSettings): number[] {
  const own = [s.outboundPort, s.inboundPort, ...(s.dnsPort === undefined ? [] : [s.dnsPort]), ...PROXY_OWN_PORTS];
  return [...new Set([...own, ...s.excludeInboundPorts])];
}

const capturesInbound = (s: CaptureSettings) => s.includeInboundPorts === '*' || s.includeInboundPorts.length > 0;

const isLoopback = (c: Cidr) => (c.family === 4 ? c.text.startsWith('127.') : c.text.startsWith('::1/'));

/** The `*nat` section for one family, from the chain declarations to COMMIT. */
export function buildNatRules(s: CaptureSettings, family: Family): string[] {
  const out: string[] = ['*nat', ...WEFT_CHAINS.map((c) => `:${c} - [0:0]`)];
  const add = (chain: string, rule: string) => out.push(`-A ${chain} ${rule}`);
  const inbound = capturesInbound(s);

  // Jumps from the built-in chains: the only rules outside Weft's chains, removed by --cleanup.
  if (inbound) add('PREROUTING', '-p tcp -j WEFT_INBOUND');
  add('OUTPUT', '-j WEFT_OUTPUT');

  // Inbound: excluded interfaces and the proxy's own ports pass, the included ports go to 15006.
  for (const i of s.excludeInterfaces) add('WEFT_INBOUND', `-i ${i} -j RETURN`);
  if (inbound) {
    for (const p of inboundReturnPorts(s)) add('WEFT_INBOUND', `${tcpPort(p)} -j RETURN`);
    if (s.includeInboundPorts === '*') add('WEFT_INBOUND', '-p tcp -j WEFT_IN_REDIRECT');
    else for (const p of s.includeInboundPorts) add('WEFT_INBOUND', `${tcpPort(p)} -j WEFT_IN_REDIRECT`);
  }
  add('WEFT_IN_REDIRECT', `-p tcp -j REDIRECT --to-ports ${s.inboundPort}`);
  add('WEFT_REDIRECT', `-p tcp -j REDIRECT --to-ports ${s.outboundPort}`);

  // Outbound, in Istio's order: exclusions that must win over everything, then loopback handling,
  // the proxy's own traffic, DNS, and last the inclusions.
  for (const i of s.excludeInterfaces) add('WEFT_OUTPUT', `-o ${i} -j RETURN`);
  for (const p of s.excludeOutboundPorts) {
    add('WEFT_OUTPUT', `${tcpPort(p)} -j RETURN`);
    add('WEFT_OUTPUT', `${udpPort(p)} -j RETURN`);
  }
  // The proxy's inbound side connects to the app from 127.0.0.6 (::6): never capture that again.
  add('WEFT_OUTPUT', `-s ${INBOUND_PASSTHROUGH_SOURCE[family]} -o lo -j RETURN`);
  const dns = s.dnsPort !== undefined;
  const includesLoopback = s.includeOutboundCidrs !== '*' && s.includeOutboundCidrs.some(isLoopback);
  const owners: [string, number][] = [
    ['uid', s.proxyUid],
    ['gid', s.proxyGid],
  ];
  for (const [kind, id] of owners) {
    // The proxy calling the pod's own IP (an app calling its own service, through its sidecar's
    // outbound side) goes on to the inbound side instead of straight to the app.
    if (inbound) {
      const notDns = dns ? ` -m tcp ! --dport ${DNS}` : '';
      add('WEFT_OUTPUT', `! -d ${LOOPBACK[family]} -o lo -p tcp${notDns} -m owner --${kind}-owner ${id} -j WEFT_IN_REDIRECT`);
    }
    // The app talking to itself over lo (pod IP or localhost) stays direct; DNS to a local resolver
    // is still captured below.
    if (!includesLoopback) add('WEFT_OUTPUT', dns ? `-o lo -p tcp -m tcp ! --dport ${DNS} -m owner ! --${kind}-owner ${id} -j RETURN` : `-o lo -m owner ! --${kind}-owner ${id} -j RETURN`);
    // Everything else the proxy sends, TCP or UDP, leaves untouched.
    add('WEFT_OUTPUT', `-m owner --${kind}-owner ${id} -j RETURN`);
  }
  if (dns) {
    add('WEFT_OUTPUT', `${tcpPort(DNS)} -j REDIRECT --to-ports ${s.dnsPort}`);
    add('WEFT_OUTPUT', `${udpPort(DNS)} -j REDIRECT --to-ports ${s.dnsPort}`);
  }
  add('WEFT_OUTPUT', `-d ${LOOPBACK[family]} -j RETURN`);
  for (const c of s.excludeOutboundCidrs) if (c.family === family) add('WEFT_OUTPUT', `-d ${c.text} -j RETURN`);
  for (const p of s.includeOutboundPorts) add('WEFT_OUTPUT', `${tcpPort(p)} -j WEFT_REDIRECT`);
  if (s.includeOutboundCidrs === '*') add('WEFT_OUTPUT', '-j WEFT_REDIRECT');
  else for (const c of s.includeOutboundCidrs) if (c.family === family) add('WEFT_OUTPUT', `-d ${c.text} -j WEFT_REDIRECT`);
  out.push('COMMIT');
  return out;
}

/** Splits iptables-save text into its tables' rule and chain lines. */
function tables(save: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) out.set(line.slice(1).trim(), (current = []));
    else if (line === 'COMMIT') current = undefined;
    else if (current && (line.startsWith('-A ') || line.startsWith(':'))) current.push(line);
  }
  return out;
}

const isWeftChain = (name: string) => (WEFT_CHAINS as readonly string[]).includes(name);

/** Weft's chains and the rules of other chains that jump to them, per table, in iptables-save text. */
export function findWeftRules(save: string): Map<string, { chains: string[]; jumps: string[] }> {
  const out = new Map<string, { chains: string[]; jumps: string[] }>();
  for (const [table, lines] of tables(save)) {
    const chains = lines.filter((l) => l.startsWith(':') && isWeftChain(l.slice(1).split(' ')[0]!)).map((l) => l.slice(1).split(' ')[0]!);
    const jumps = lines.filter((l) => {
      const m = /^-A (\S+) .*-j (\S+)/.exec(l);
      return m !== null && !isWeftChain(m[1]!) && isWeftChain(m[2]!);
    });
    if (chains.length || jumps.length) out.set(table, { chains, jumps });
  }
  return out;
}

/** Chains of another capture (Istio's ISTIO_*) found in iptables-save text. */
export function foreignCaptureChains(save: string): string[] {
  const found = new Set<string>();
  for (const lines of tables(save).values()) for (const l of lines) if (l.startsWith(':ISTIO_')) found.add(l.slice(1).split(' ')[0]!);
  return [...found];
}

/** The restore lines that delete the jumps found in `save` (Weft's earlier set), table by table. */
function removalLines(save: string, table: string, dropChains: boolean): string[] {
  const found = findWeftRules(save).get(table);
  if (!found) return [];
  const lines = found.jumps.map((j) => `-D${j.slice(2)}`);
  if (dropChains) lines.push(...found.chains.map((c) => `-F ${c}`), ...found.chains.map((c) => `-X ${c}`));
  return lines;
}

/**
 * One atomic iptables-restore --noflush input that replaces whatever Weft set is there (`save` is the
 * namespace's current iptables-save) with the new one: old jumps deleted, Weft's chains flushed by their
 * declaration and refilled. Running it twice leaves one set.
 */
export function buildApply(s: CaptureSettings, family: Family, save: string): string {
  const nat = buildNatRules(s, family);
  const stale = removalLines(save, 'nat', false);
  const otherTables = [...findWeftRules(save).keys()].filter((t) => t !== 'nat').flatMap((t) => [`*${t}`, ...removalLines(save, t, true), 'COMMIT']);
  return [...otherTables, nat[0]!, ...nat.slice(1, 1 + WEFT_CHAINS.length), ...stale, ...nat.slice(1 + WEFT_CHAINS.length), ''].join('\n');
}

/** The iptables-restore --noflush input that removes exactly Weft's chains and jumps, or '' if none. */
export function buildCleanup(save: string): string {
  const out: string[] = [];
  for (const table of findWeftRules(save).keys()) out.push(`*${table}`, ...removalLines(save, table, true), 'COMMIT');
  return out.length ? `${out.join('\n')}\n` : '';
}

/** What `--dry-run` prints: the exact restore input per family, v4 then v6. */
export function renderDryRun(s: CaptureSettings, families: readonly Family[]): string {
  return families.map((f) => [`# ${f === 4 ? 'iptables' : 'ip6tables'}-restore --noflush (IPv${f})`, ...buildNatRules(s, f), ''].join('\n')).join('');
}
