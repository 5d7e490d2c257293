// The demo's live table as a test reads it: one block per tick (non-TTY output), each with its uptime,
// message line, rows (service version → rps, success %, share %) and edges (caller → server → what the
// server's sidecar saw, and, where the demo measures it, the caller's sidecar's p50/p99 and flags).
export interface EdgeRow {
  security: string;
  tls: number;
  plaintext: number;
  denied: number;
  /** Milliseconds; undefined when shown as "—" or not shown (the netns demo). */
  p50: number | undefined;
  p99: number | undefined;
  /** Response flags counted by the caller's sidecar (empty for "flags -" or when not shown). */
  flags: Map<string, number>;
}

export interface Block {
  up: number;
  message: string;
  rows: Map<string, { rps: number; success: number; share: number }>;
  /** `security N mTLS / M plaintext` per edge. */
  edges: Map<string, string>;
  edgeRows: Map<string, EdgeRow>;
}

const EDGE = /^ {2}(\w+ → \w+)\s+(\S+)\s+(?:p50\s+(\S+) ms\s+p99\s+(\S+) ms\s+)?(\d+) mTLS \/ (\d+) plaintext connections(?:\s+(\d+) denied \(403 RBAC\))?(?:\s+flags (.+))?$/gm;

export function parseEdges(chunk: string): Map<string, EdgeRow> {
  const edges = new Map<string, EdgeRow>();
  const ms = (s: string | undefined) => (s === undefined || s === '—' ? undefined : Number(s));
  for (const m of chunk.matchAll(EDGE)) {
    const flags = new Map<string, number>();
    if (m[8] && m[8] !== '-') for (const f of m[8].split(', ')) flags.set(f.split(' ')[0], Number(f.split(' ')[1]));
    edges.set(m[1], { security: m[2], p50: ms(m[3]), p99: ms(m[4]), tls: Number(m[5]), plaintext: Number(m[6]), denied: Number(m[7] ?? 0), flags });
  }
  return edges;
}

export function parseBlocks(output: string): Block[] {
  return output.split('Weft demo — ').slice(1).map((chunk) => {
    const up = Number(/\(up (\d+)s\)/.exec(chunk)?.[1] ?? -1);
    const rows = new Map<string, { rps: number; success: number; share: number }>();
    for (const m of chunk.matchAll(/^(\w+)\s+(v\d)\s+([\d.]+)\s+([\d.]+)%\s+\S+\s+(\d+)%$/gm))
      rows.set(`${m[1]} ${m[2]}`, { rps: Number(m[3]), success: Number(m[4]), share: Number(m[5]) });
    const edgeRows = parseEdges(chunk);
    const edges = new Map([...edgeRows].map(([k, e]) => [k, `${e.security} ${e.tls} mTLS / ${e.plaintext} plaintext`]));
    return { up, message: /^(steer it yourself|wrote a 90\/10|starting)/m.exec(chunk)?.[1] ?? '', rows, edges, edgeRows };
  });
}
