// The service graph's model and layout, computed on the server so the page only draws: each service
// a box holding its workloads (one per version), edges from a source workload to the destination
// workload, services in columns by call depth (the longest call chain that reaches them).
import type { EdgeStats } from '../observe/edges.js';

export interface GraphWorkload {
  id: string;
  name: string;
  version: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GraphService {
  id: string;
  name: string;
  namespace: string;
  depth: number;
  x: number;
  y: number;
  w: number;
  h: number;
  workloads: GraphWorkload[];
}

export interface GraphEdge extends EdgeStats {
  from: string;
  to: string;
  /** SVG path, and where its label goes: its right end and vertical middle. */
  d: string;
  labelX: number;
  labelY: number;
}

export interface Graph {
  width: number;
  height: number;
  services: GraphService[];
  edges: GraphEdge[];
}

/** A workload known without traffic (a registered proxy): shown before the first request. */
export interface KnownWorkload {
  service: string;
  namespace: string;
  workload: string;
  version: string;
}

const BOX_W = 190;
const COL_W = 470;
const HEAD = 26;
const NODE_H = 28;
/** Height of one edge label (two lines); a workload is as tall as the labels of its incoming edges. */
const LABEL_H = 34;
const NODE_GAP = 8;
const GAP = 24;
const MARGIN = 20;

const UNKNOWN = 'unknown';

export function layoutGraph(edges: readonly EdgeStats[], known: readonly KnownWorkload[] = []): Graph {
  const services = new Map<string, { name: string; namespace: string; workloads: Map<string, { name: string; version: string }> }>();
  const addWorkload = (svc: string, ns: string, workload: string, version: string): string => {
    const sid = `${ns}/${svc}`;
    let s = services.get(sid);
    if (!s) services.set(sid, (s = { name: svc, namespace: ns, workloads: new Map() }));
    const name = workload === UNKNOWN ? `${svc} (unknown)` : workload;
    const id = `${ns}/${name}`;
    if (!s.workloads.has(id)) s.workloads.set(id, { name, version });
    return id;
  };
  const serviceOfWorkload = new Map<string, string>();
  const links: GraphEdge[] = [];
  for (const e of edges) {
    const srcSvc = e.source.app !== UNKNOWN ? e.source.app : e.source.workload;
    const from = addWorkload(srcSvc, e.source.namespace, e.source.workload, e.source.version);
    const dstSvc = e.destination.name !== UNKNOWN ? e.destination.name : e.destination.service.split('.')[0];
    // A destination the caller could not name is taken to be in the caller's namespace (as a short host resolves).
    const dstNs = e.destination.namespace !== UNKNOWN ? e.destination.namespace : e.source.namespace;
    const to = addWorkload(dstSvc, dstNs, e.destination.workload, e.destination.version);
    serviceOfWorkload.set(from, `${e.source.namespace}/${srcSvc}`);
    serviceOfWorkload.set(to, `${dstNs}/${dstSvc}`);
    links.push({ ...e, from, to, d: '', labelX: 0, labelY: 0 });
  }
  for (const k of known) addWorkload(k.service, k.namespace, k.workload, k.version);

  // Depth: longest path from a service nobody calls, relaxed at most |services| times (cycles stop there).
  const depth = new Map<string, number>([...services.keys()].map((s) => [s, 0]));
  const svcEdges = links.map((l) => [serviceOfWorkload.get(l.from)!, serviceOfWorkload.get(l.to)!] as const).filter(([a, b]) => a !== b);
  for (let i = 0; i < services.size; i++) {
    let changed = false;
    for (const [a, b] of svcEdges)
      if (depth.get(b)! < depth.get(a)! + 1 && depth.get(a)! + 1 < services.size) {
        depth.set(b, depth.get(a)! + 1);
        changed = true;
      }
    if (!changed) break;
  }

  const columns = new Map<number, string[]>();
  for (const [id, d] of depth) {
    if (!columns.has(d)) columns.set(d, []);
    columns.get(d)!.push(id);
  }
  const incoming = new Map<string, GraphEdge[]>();
  for (const l of links) {
    if (!incoming.has(l.to)) incoming.set(l.to, []);
    incoming.get(l.to)!.push(l);
  }
  const out: GraphService[] = [];
  const pos = new Map<string, GraphWorkload>();
  let height = 0;
  for (const [d, ids] of [...columns].sort((a, b) => a[0] - b[0])) {
    let y = MARGIN;
    for (const id of ids.sort()) {
      const s = services.get(id)!;
      const x = MARGIN + d * COL_W;
      let wy = y + HEAD;
      const workloads = [...s.workloads]
        .sort((a, b) => (a[1].version < b[1].version ? -1 : a[1].version > b[1].version ? 1 : a[0] < b[0] ? -1 : 1))
        .map(([wid, w]) => {
          const h = Math.max(NODE_H, (incoming.get(wid)?.length ?? 0) * LABEL_H);
          const node = { id: wid, name: w.name, version: w.version, x: x + 10, y: wy, w: BOX_W - 20, h };
          wy += h + NODE_GAP;
          return node;
        });
      const h = wy - y;
      out.push({ id, name: s.name, namespace: s.namespace, depth: d, x, y, w: BOX_W, h, workloads });
      for (const w of workloads) pos.set(w.id, w);
      y += h + GAP;
    }
    height = Math.max(height, y);
  }
  // Each edge into a workload ends at its own height, its label just before the arrow, so labels of
  // edges into one box stack instead of overlapping; sources top to bottom, so edges do not cross there.
  for (const [to, edgesIn] of incoming) {
    const b = pos.get(to)!;
    edgesIn.sort((p, q) => pos.get(p.from)!.y - pos.get(q.from)!.y || pos.get(p.from)!.x - pos.get(q.from)!.x);
    edgesIn.forEach((l, k) => {
      const a = pos.get(l.from)!;
      const x1 = a.x + a.w;
      const y1 = a.y + a.h / 2;
      const x2 = b.x;
      const y2 = edgesIn.length === 1 ? b.y + b.h / 2 : b.y + LABEL_H * (k + 0.5);
      const bend = Math.max(60, Math.abs(x2 - x1) / 3);
      l.d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
      l.labelX = x2 - 10;
      l.labelY = y2;
    });
  }
  const maxDepth = Math.max(0, ...depth.values());
  return { width: MARGIN * 2 + maxDepth * COL_W + BOX_W, height: Math.max(height, 100), services: out, edges: links };
}
