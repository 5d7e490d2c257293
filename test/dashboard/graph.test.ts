// The service graph's layout (pure): services in columns by call depth, workloads per version inside
// their service, labels of edges into one workload stacked apart, cycles bounded, idle workloads shown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layoutGraph } from '../../src/controlplane/dashboard/graph.js';
import type { EdgeStats } from '../../src/controlplane/observe/edges.js';

function edge(src: string, srcVersion: string, dst: string, dstVersion: string, rps = 1): EdgeStats {
  const workload = dstVersion === 'unknown' ? 'unknown' : `${dst}-${dstVersion}`;
  return {
    id: `${src}-${srcVersion}|${dst}|${dstVersion}`,
    source: { workload: `${src}-${srcVersion}`, namespace: 'default', app: src, version: srcVersion },
    destination: { service: `${dst}.default.svc.cluster.local`, name: dst, namespace: 'default', workload, version: dstVersion },
    reporter: 'destination', rps, requests: rps * 60, successRate: 1, p50: 1, p95: 2, p99: 3, codes: { '200': rps }, flags: {},
  };
}

const bookinfo = [
  edge('loadgen', 'v1', 'productpage', 'v1'),
  edge('productpage', 'v1', 'details', 'v1'),
  edge('productpage', 'v1', 'reviews', 'v3'),
  edge('productpage', 'v1', 'reviews', 'v1'),
  edge('productpage', 'v1', 'reviews', 'v2'),
  edge('reviews', 'v2', 'ratings', 'v1'),
  edge('reviews', 'v3', 'ratings', 'v1'),
];

describe('layoutGraph', () => {
  it('columns by call depth; versions in order inside their service', () => {
    const g = layoutGraph(bookinfo);
    const depth = Object.fromEntries(g.services.map((s) => [s.name, s.depth]));
    assert.deepEqual(depth, { loadgen: 0, productpage: 1, details: 2, reviews: 2, ratings: 3 });
    const reviews = g.services.find((s) => s.name === 'reviews')!;
    assert.deepEqual(reviews.workloads.map((w) => w.version), ['v1', 'v2', 'v3']);
    for (const w of reviews.workloads) assert.ok(w.y >= reviews.y && w.y + w.h <= reviews.y + reviews.h, 'workloads inside their box');
    const details = g.services.find((s) => s.name === 'details')!;
    assert.ok(details.y + details.h <= reviews.y || reviews.y + reviews.h <= details.y, 'boxes in one column do not overlap');
    assert.ok(g.width >= Math.max(...g.services.map((s) => s.x + s.w)) && g.height >= Math.max(...g.services.map((s) => s.y + s.h)));
    assert.equal(g.edges.length, bookinfo.length);
    for (const e of g.edges) assert.match(e.d, /^M[\d.]+,[\d.]+ C/);
  });
  it('edges into one workload end, and are labelled, at different heights', () => {
    const g = layoutGraph(bookinfo);
    const intoRatings = g.edges.filter((e) => e.to === 'default/ratings-v1');
    assert.equal(intoRatings.length, 2);
    assert.ok(Math.abs(intoRatings[0].labelY - intoRatings[1].labelY) >= 30, JSON.stringify(intoRatings.map((e) => e.labelY)));
    // From reviews-v2 (higher up) to the upper slot: no crossing at the target.
    assert.ok(intoRatings.find((e) => e.from === 'default/reviews-v2')!.labelY < intoRatings.find((e) => e.from === 'default/reviews-v3')!.labelY);
  });
  it('a destination workload the caller could not name is its own node in the service', () => {
    const g = layoutGraph([edge('productpage', 'v1', 'reviews', 'unknown')]);
    assert.deepEqual(g.services.find((s) => s.name === 'reviews')!.workloads.map((w) => w.name), ['reviews (unknown)']);
  });
  it('cycles end: depth stays below the number of services', () => {
    const g = layoutGraph([edge('a', 'v1', 'b', 'v1'), edge('b', 'v1', 'a', 'v1')]);
    for (const s of g.services) assert.ok(s.depth < 2, `${s.name} at ${s.depth}`);
  });
  it('registered workloads without traffic are drawn', () => {
    const g = layoutGraph([], [{ service: 'ratings', namespace: 'default', workload: 'ratings-v1', version: 'v1' }]);
    assert.deepEqual(g.services.map((s) => [s.name, s.workloads.map((w) => w.name)]), [['ratings', ['ratings-v1']]]);
    assert.deepEqual(g.edges, []);
  });
});
