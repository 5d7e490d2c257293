// The demo's live table as a test reads it: one block per tick (non-TTY output), each with its uptime,
// message line, rows (service version → rps, success %, share %) and edges (caller → server → what the
// server's sidecar saw).
export interface Block { up: number; message: string; rows: Map<string, { rps: number; success: number; share: number }>; edges: Map<string, string> }

export function parseBlocks(output: string): Block[] {
  return output.split('Weft demo — ').slice(1).map((chunk) => {
    const up = Number(/\(up (\d+)s\)/.exec(chunk)?.[1] ?? -1);
    const rows = new Map<string, { rps: number; success: number; share: number }>();
    for (const m of chunk.matchAll(/^(\w+)\s+(v\d)\s+([\d.]+)\s+([\d.]+)%\s+\S+\s+(\d+)%$/gm))
      rows.set(`${m[1]} ${m[2]}`, { rps: Number(m[3]), success: Number(m[4]), share: Number(m[5]) });
    const edges = new Map<string, string>();
    for (const m of chunk.matchAll(/^ {2}(\w+ → \w+)\s+(\S+)\s+(\d+ mTLS \/ \d+ plaintext)/gm)) edges.set(m[1], `${m[2]} ${m[3]}`);
    return { up, message: /^(steer it yourself|wrote a 90\/10|starting)/m.exec(chunk)?.[1] ?? '', rows, edges };
  });
}

