// Filter-chain selection, once per connection, as Envoy's FilterChainMatch does it: criteria are
// taken in Envoy's order (destination port, destination IP, server name, transport protocol,
// application protocols, source type, source IP) and at each level only the most specific matching chains go on
// — a chain that names a value beats one that leaves it unset (for server names: exact, then the
// longest `*.` wildcard); when no chain at a level fits, the connection gets the default filter
// chain (or is closed). The TLS inspector supplies the SNI, `tls` and the ALPN offered.
import { isIP } from 'node:net';
import type { Cidr, FilterChainMatch } from '../xds/model.js';
import { ipBytes } from '../xds/validate-listener.js';
import { unmappedAddress, type ConnectionInfo } from './connection-info.js';

export type { ConnectionInfo } from './connection-info.js';

interface Candidate<T> {
  match: FilterChainMatch;
  value: T;
}

type Level<T> = (chains: Candidate<T>[], conn: ConnectionInfo) => Candidate<T>[];

export class FilterChainSelector<T> {
  private readonly chains: Candidate<T>[];
  private readonly fallback: T | undefined;
  /** The common case (one chain that matches everything) costs nothing per connection. */
  private readonly only: T | undefined;
  /** Whether any chain looks at application protocols (only then is detection worth waiting for). */
  readonly usesApplicationProtocols: boolean;

  constructor(chains: Candidate<T>[], fallback: T | undefined) {
    this.chains = chains;
    this.fallback = fallback;
    this.usesApplicationProtocols = chains.some((c) => c.match.applicationProtocols.length > 0);
    if (chains.length === 1 && isCatchAll(chains[0].match)) this.only = chains[0].value;
    else if (chains.length === 0) this.only = fallback;
  }

  select(conn: ConnectionInfo): T | undefined {
    if (this.only !== undefined) return this.only;
    let c = this.chains;
    for (const level of levels) {
      c = level(c, conn) as Candidate<T>[];
      if (c.length === 0) return this.fallback;
    }
    return c[0].value;
  }

  /** Whether the chain for this connection depends on its application protocol: false lets a
   * server-speaks-first connection skip protocol detection. */
  needsApplicationProtocol(conn: ConnectionInfo): boolean {
    if (!this.usesApplicationProtocols) return false;
    let c = this.chains;
    for (const level of levels.slice(0, 4)) {
      c = level(c, conn) as Candidate<T>[];
      if (c.length === 0) return false;
    }
    return c.some((x) => x.match.applicationProtocols.length > 0);
  }
}

function isCatchAll(m: FilterChainMatch): boolean {
  return (
    m.destinationPort === undefined &&
    m.prefixRanges.length === 0 &&
    m.sourcePrefixRanges.length === 0 &&
    m.serverNames.length === 0 &&
    m.transportProtocol !== 'tls' &&
    m.applicationProtocols.length === 0 &&
    m.sourceType === 'ANY'
  );
}

/** Keep the chains that name a matching value, else those that leave the criterion unset. */
function level<T>(named: (m: FilterChainMatch) => boolean, fits: (m: FilterChainMatch) => boolean): Level<T> {
  return (chains) => {
    const specific = chains.filter((c) => named(c.match) && fits(c.match));
    return specific.length > 0 ? specific : chains.filter((c) => !named(c.match));
  };
}

/** Longest-prefix level over destination or source ranges. */
function cidrLevel<T>(ranges: (m: FilterChainMatch) => readonly Cidr[], address: (c: ConnectionInfo) => string | undefined): Level<T> {
  return (chains, conn) => {
    let best = -1;
    let out: Candidate<T>[] = [];
    for (const c of chains) {
      const r = ranges(c.match);
      if (r.length === 0) continue;
      const len = longestMatch(r, address(conn));
      if (len > best) {
        best = len;
        out = [c];
      } else if (len === best && len >= 0) out.push(c);
    }
    return best >= 0 ? out : chains.filter((c) => ranges(c.match).length === 0);
  };
}

const levels: Level<unknown>[] = [
  (chains, conn) => level<unknown>((m) => m.destinationPort !== undefined, (m) => m.destinationPort === conn.localPort)(chains, conn),
  cidrLevel((m) => m.prefixRanges, (c) => c.localAddress),
  serverNameLevel,
  (chains, conn) => level<unknown>((m) => m.transportProtocol !== undefined, (m) => m.transportProtocol === (conn.transportProtocol ?? 'raw_buffer'))(chains, conn),
  (chains, conn) =>
    level<unknown>((m) => m.applicationProtocols.length > 0, (m) => m.applicationProtocols.some((p) => conn.applicationProtocols?.includes(p) ?? false))(chains, conn),
  (chains, conn) => level<unknown>((m) => m.sourceType !== 'ANY', (m) => m.sourceType === sourceTypeOf(conn))(chains, conn),
  cidrLevel((m) => m.sourcePrefixRanges, (c) => c.remoteAddress),
];

/** Envoy's source_type: a peer on loopback or at the connection's own local address is local. */
function sourceTypeOf(conn: ConnectionInfo): 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL' {
  const peer = unmappedAddress(conn.remoteAddress ?? '');
  if (peer === '::1' || peer.startsWith('127.')) return 'SAME_IP_OR_LOOPBACK';
  return peer !== '' && peer === unmappedAddress(conn.localAddress ?? '') ? 'SAME_IP_OR_LOOPBACK' : 'EXTERNAL';
}


/** server_names: an exact name beats the longest matching `*.suffix`; chains without names come last. */
function serverNameLevel<T>(chains: Candidate<T>[], conn: ConnectionInfo): Candidate<T>[] {
  const sni = conn.serverName?.toLowerCase();
  let best = -1;
  let out: Candidate<T>[] = [];
  for (const c of chains) {
    for (const name of c.match.serverNames) {
      // An exact name scores above any wildcard; wildcards score by the length of their suffix.
      const score = sni === undefined ? -1 : name === sni ? Infinity : name.startsWith('*.') && sni.endsWith(name.slice(1)) ? name.length : -1;
      if (score > best) {
        best = score;
        out = [c];
      } else if (score === best && score >= 0 && !out.includes(c)) out.push(c);
    }
  }
  return best >= 0 ? out : chains.filter((c) => c.match.serverNames.length === 0);
}

function longestMatch(ranges: readonly Cidr[], address: string | undefined): number {
  if (!address) return -1;
  const ip = unmappedAddress(address);
  const family = isIP(ip);
  if (family === 0) return -1;
  let best = -1;
  for (const r of ranges) {
    if (r.family !== family) continue;
    const masked = ipBytes(ip, family as 4 | 6, r.prefixLen);
    if (masked.every((b, i) => b === r.bytes[i]) && r.prefixLen > best) best = r.prefixLen;
  }
  return best;
}
