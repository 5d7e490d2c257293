// Filter-chain selection per connection, in the spirit of Envoy's FilterChainMatch: the most
// specific matching chain wins (destination port, then destination prefix length, then
// source prefix length); default_filter_chain catches the rest. With no TLS yet, chains that
// require transport_protocol "tls" never match.
import { isIP } from 'node:net';
import type { Cidr, FilterChainMatch } from '../xds/model.js';
import { ipBytes } from '../xds/validate-listener.js';

export interface ConnectionInfo {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
}

interface Candidate<T> {
  match: FilterChainMatch;
  value: T;
}

export class FilterChainSelector<T> {
  private readonly chains: Candidate<T>[];
  private readonly fallback: T | undefined;
  /** The common case (one chain that matches everything) costs nothing per connection. */
  private readonly only: T | undefined;

  constructor(chains: Candidate<T>[], fallback: T | undefined) {
    this.chains = chains;
    this.fallback = fallback;
    if (chains.length === 1 && isCatchAll(chains[0].match)) this.only = chains[0].value;
    else if (chains.length === 0) this.only = fallback;
  }

  select(conn: ConnectionInfo): T | undefined {
    if (this.only !== undefined) return this.only;
    let best: Candidate<T> | undefined;
    let bestScore = -1;
    for (const c of this.chains) {
      const score = matchScore(c.match, conn);
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best ? best.value : this.fallback;
  }
}

function isCatchAll(m: FilterChainMatch): boolean {
  return m.destinationPort === undefined && m.prefixRanges.length === 0 && m.sourcePrefixRanges.length === 0 && m.transportProtocol !== 'tls';
}

/** -1 when the chain does not apply; otherwise higher is more specific. */
function matchScore(m: FilterChainMatch, conn: ConnectionInfo): number {
  if (m.transportProtocol === 'tls') return -1;
  let score = 0;
  if (m.destinationPort !== undefined) {
    if (conn.localPort !== m.destinationPort) return -1;
    score += 1 << 20;
  }
  if (m.prefixRanges.length > 0) {
    const len = longestMatch(m.prefixRanges, conn.localAddress);
    if (len < 0) return -1;
    score += (len + 1) << 10;
  }
  if (m.sourcePrefixRanges.length > 0) {
    const len = longestMatch(m.sourcePrefixRanges, conn.remoteAddress);
    if (len < 0) return -1;
    score += len + 1;
  }
  return score;
}

function longestMatch(ranges: readonly Cidr[], address: string | undefined): number {
  if (!address) return -1;
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
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
