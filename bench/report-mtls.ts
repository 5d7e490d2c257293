// The mTLS tables: each TLS pair against HAProxy's TLS pair of the same kind (and against its own
// plaintext row, which gives the cost of TLS alone), and the new-connections-per-second table.
import type { DataplaneResult, RowResult } from './dataplane/run.js';

const f = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const ok = (dp: DataplaneResult, name: string): RowResult | undefined => dp.rows.find((r) => r.name === name && r.status === 'ok');
const sub = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a - b);
const div = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || !(b > 0) ? undefined : a / b);

/** For each TLS row: the HAProxy TLS row it is compared with and its plaintext twin. */
const PAIRS: Array<{ row: string; hap: string; plain: string }> = [
  { row: 'haproxy-tls', hap: 'haproxy-tls', plain: 'haproxy' },
  { row: 'weft-mtls', hap: 'haproxy-tls', plain: 'weft-static' },
  { row: 'tcp-haproxy-tls', hap: 'tcp-haproxy-tls', plain: 'tcp-haproxy' },
  { row: 'tcp-weft-mtls', hap: 'tcp-haproxy-tls', plain: 'tcp-weft' },
];

export function mtlsMd(dp: DataplaneResult): string[] {
  const lines: string[] = [];
  const tlsRows = PAIRS.filter((p) => dp.rows.some((r) => r.name === p.row));
  if (tlsRows.length) {
    lines.push(
      '### mTLS between the sidecars',
      '',
      'Client → client sidecar (plaintext) → server sidecar over mutual TLS → backend (plaintext). Both pairs use the same openssl-made ECDSA P-256 certificates (SPIFFE URI SANs) and TLS 1.3; ' +
        'HAProxy: `ssl crt … ca-file … verify required` on the server hop\'s bind, `ssl verify required ca-file … crt …` on the client hop\'s server line. ' +
        'Weft: the control plane\'s auto-mTLS resources (UpstreamTlsContext with SAN match via transport_socket_matches, STRICT inbound chain requiring a client certificate), secrets `default`/`ROOTCA` over ADS. ' +
        '"vs HAProxy TLS" is the difference in added latency (ms) and the throughput ratio; "TLS cost" is the row minus its own plaintext row. HTTP rows keep their upstream connections (no handshake per request); TCP rows are one upstream connection per client connection.',
      '',
      '| pair | added p50 ms | added p99 ms | p50 / p99 vs HAProxy TLS ms | max req/s | vs HAProxy TLS | TLS cost p50 / p99 ms, max req/s | CPU s/1k req client / server (at max) | server hop negotiates |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |',
    );
    for (const p of tlsRows) {
      const r = dp.rows.find((x) => x.name === p.row)!;
      if (r.status !== 'ok') {
        lines.push(`| ${r.name} | ${r.status}: ${(r.error ?? '').split('\n')[0].replace(/\|/g, '/')} | | | | | | | |`);
        continue;
      }
      const hap = ok(dp, p.hap);
      const plain = ok(dp, p.plain);
      const cpu = (r.proxies ?? []).map((x) => `${f(x.cpuPer1kAtRate)} (${f(x.cpuPer1kAtMax)})`).join(' / ');
      lines.push(
        `| ${r.name} | ${f(r.added?.p50)} | ${f(r.added?.p99)} | ${f(sub(r.added?.p50, hap?.added?.p50))} / ${f(sub(r.added?.p99, hap?.added?.p99))} | ${f(r.max?.rps, 0)} | ${f(div(r.max?.rps, hap?.max?.rps), 2)}× | ` +
          `${f(sub(r.added?.p50, plain?.added?.p50))} / ${f(sub(r.added?.p99, plain?.added?.p99))}, ${f(sub(r.max?.rps, plain?.max?.rps), 0)} | ${cpu} | ${r.tls ?? '—'} |`,
      );
    }
  }
  const rate = dp.rows.filter((r) => r.connRate);
  if (rate.length) {
    const c = dp.config;
    lines.push(
      '',
      '### New connections per second (handshake cost)',
      '',
      `\`wrk -t 1 -c ${c.wrkConnections} -d ${c.shortWrkSeconds ?? c.wrkSeconds}s -H 'Connection: close'\`: every request is a new client connection (the backend closes after answering), median of ${c.rounds} interleaved rounds. ` +
        'Through the TCP rows each client connection is a new connection on every hop, so the TLS rows pay one full mutual-TLS handshake per request between the sidecars (HAProxy\'s session resumption off, as Weft has none); ' +
        'through the HTTP rows the sidecars reuse their upstream connections, so only the plaintext accept is new. CPU is utime+stime per new connection, in milliseconds, over all rounds.',
      '',
      '| pair | new conn/s | vs HAProxy of the same kind | CPU ms / connection client / server | TLS part: minus the plaintext twin, ms client / server | socket errors (median round) |',
      '| --- | ---: | ---: | --- | --- | ---: |',
    );
    for (const r of rate) {
      const cr = r.connRate!;
      const hapName = r.name.startsWith('tcp-') ? (r.name.endsWith('tls') || r.name.endsWith('mtls') ? 'tcp-haproxy-tls' : 'tcp-haproxy') : r.name.endsWith('tls') || r.name.endsWith('mtls') ? 'haproxy-tls' : 'haproxy';
      const hap = dp.rows.find((x) => x.name === hapName)?.connRate;
      const cpu = cr.cpuMsPerConn.length ? cr.cpuMsPerConn.map((x) => f(x.ms, 3)).join(' / ') : '—';
      const twin = dp.rows.find((x) => x.name === PAIRS.find((p) => p.row === r.name)?.plain)?.connRate;
      const tlsPart = twin ? cr.cpuMsPerConn.map((x, i) => f(sub(x.ms, twin.cpuMsPerConn[i]?.ms), 3)).join(' / ') : '—';
      lines.push(`| ${r.name} | ${f(cr.median.rps, 0)} | ${r.name === 'direct' ? '—' : `${f(div(cr.median.rps, hap?.median.rps), 2)}×`} | ${cpu} | ${tlsPart} | ${cr.median.errors} |`);
    }
  }
  return lines;
}
