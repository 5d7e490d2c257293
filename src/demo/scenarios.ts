// Live scenarios of `weft demo` (`--scenario NAME`, or a key in the live table): each writes the
// Istio config a user would write and sets the sample app up to show the mesh at work.
//   fault    ratings aborts half its calls with 503 (VirtualService fault injection)
//   breaker  reviews gets a 1-connection circuit breaker while the load generator bursts: overflows (UO)
//   outlier  reviews v3 starts failing, is ejected by outlier detection, and comes back when it heals
import fs from 'node:fs';
import path from 'node:path';
import { BOOKINFO } from './apps.js';

export const SCENARIOS = ['none', 'fault', 'breaker', 'outlier'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const SCENARIO_KEYS: Record<string, Scenario> = { n: 'none', f: 'fault', b: 'breaker', o: 'outlier' };

/** How long reviews v3 fails in the outlier scenario before it heals. */
export const OUTLIER_FAILING_MS = 12_000;

/** The behaviour of the sample app the scenario asks for (read by the apps on each request). */
export interface AppKnobs {
  /** "service version" pairs answering 503. */
  failing: Set<string>;
  /** Concurrent productpage calls the load generator adds once a second. */
  burst: number;
}

const trafficPolicies: Partial<Record<Scenario, Record<string, string>>> = {
  breaker: {
    reviews: `  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 1 }
      http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }
`,
  },
  outlier: {
    reviews: `  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 1s
      baseEjectionTime: 5s
      maxEjectionPercent: 50
`,
  },
};

/** DestinationRules for every service (subsets by version), with the scenario's traffic policy. */
export function destinationRules(scenario: Scenario): string {
  return ['productpage', 'details', 'reviews', 'ratings']
    .map((svc) => {
      const versions = [...new Set(BOOKINFO.filter((a) => a.service === svc).map((a) => a.version))];
      return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${svc}
spec:
  host: ${svc}
${trafficPolicies[scenario]?.[svc] ?? ''}  subsets:
${versions.map((v) => `  - name: ${v}\n    labels:\n      version: ${v}`).join('\n')}
`;
    })
    .join('---\n');
}

const ratingsFault = `# weft demo --scenario fault: ratings aborts half of its calls with 503.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - fault:
      abort:
        percentage: { value: 50 }
        httpStatus: 503
    route:
    - destination: { host: ratings }
`;

/** Write the scenario's config; returns the line the table shows. */
export function applyScenario(scenario: Scenario, configDir: string, knobs: AppKnobs, heal: (fn: () => void, ms: number) => void): string {
  fs.writeFileSync(path.join(configDir, 'destination-rules.yaml'), destinationRules(scenario));
  const ratings = path.join(configDir, 'ratings.yaml');
  if (scenario === 'fault') fs.writeFileSync(ratings, ratingsFault);
  else fs.rmSync(ratings, { force: true });
  knobs.burst = scenario === 'breaker' ? 30 : 0;
  knobs.failing.clear();
  switch (scenario) {
    case 'none':
      return 'scenario: none — keys: f fault, b breaker, o outlier, n none';
    case 'fault':
      return `scenario fault: ratings aborts 50% with 503 (edit ${ratings})`;
    case 'breaker':
      return 'scenario breaker: reviews allows 1 connection and 1 pending request; bursts of 30 overflow (UO)';
    case 'outlier':
      // Reviews must spread over its instances (no subset split) for one of them to be ejected.
      fs.rmSync(path.join(configDir, 'reviews.yaml'), { force: true });
      knobs.failing.add('reviews v3');
      heal(() => knobs.failing.delete('reviews v3'), OUTLIER_FAILING_MS);
      return `scenario outlier: reviews v3 answers 503 for ${OUTLIER_FAILING_MS / 1000} s; outlier detection ejects it, then lets it back`;
  }
}
