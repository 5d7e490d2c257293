// Live scenarios of `weft demo` (`--scenario NAME`, or a key in the live table): each writes the
// Istio config a user would write and sets the sample app up to show the mesh at work.
//   fault    ratings aborts half its calls with 503 (VirtualService fault injection)
//   breaker  reviews gets a 1-connection circuit breaker while the load generator bursts: overflows (UO)
//   outlier  reviews v3 starts failing, is ejected by outlier detection, and comes back when it heals
//   authz    an AuthorizationPolicy on ratings denies reviews' identity: its calls answer 403 (RBAC)
//   plaintext details opts out of mTLS (PeerAuthentication DISABLE, DestinationRule tls DISABLE)
import fs from 'node:fs';
import path from 'node:path';
import { BOOKINFO } from './apps.js';

export const SCENARIOS = ['none', 'fault', 'breaker', 'outlier', 'authz', 'plaintext'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const SCENARIO_KEYS: Record<string, Scenario> = { n: 'none', f: 'fault', b: 'breaker', o: 'outlier', a: 'authz', p: 'plaintext' };

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
  plaintext: {
    details: `  trafficPolicy:
    tls: { mode: DISABLE }
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

// The issue asks to deny productpage → ratings, but in bookinfo (here as in Istio's) only reviews
// v2/v3 call ratings. Rather than add a call the real app does not make, the policy denies the
// edge that exists: reviews' SPIFFE identity, proven by its certificate, is refused by ratings'
// sidecar. Each server in the demo has exactly one calling service, so the edge list can read an
// edge's security and denials off the server's own sidecar counters.
const ratingsDenyReviews = `# weft demo --scenario authz: ratings' sidecar refuses calls from reviews' identity (403, RBAC).
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-deny-reviews
  namespace: default
spec:
  selector:
    matchLabels:
      app: ratings
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-reviews"]
`;

// Both halves of opting a workload out, as an Istio user would: the server takes plaintext only,
// and callers are told not to originate TLS to it.
const detailsPlaintext = `# weft demo --scenario plaintext: details takes plaintext only (the DestinationRule for details
# in destination-rules.yaml has tls DISABLE too), so productpage → details is not encrypted.
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: details-plaintext
  namespace: default
spec:
  selector:
    matchLabels:
      app: details
  mtls:
    mode: DISABLE
`;

/** Write (or remove) one scenario file of the config dir. */
function writeOrRemove(file: string, content: string | undefined): void {
  if (content !== undefined) fs.writeFileSync(file, content);
  else fs.rmSync(file, { force: true });
}

/** Remove every file a scenario may have left (the demo's start, before the control plane reads them). */
export function clearScenarioFiles(configDir: string): void {
  for (const f of ['ratings.yaml', 'authz.yaml', 'peer-authentication.yaml']) fs.rmSync(path.join(configDir, f), { force: true });
}

/** Write the scenario's config; returns the line the table shows. */
export function applyScenario(scenario: Scenario, configDir: string, knobs: AppKnobs, heal: (fn: () => void, ms: number) => void): string {
  fs.writeFileSync(path.join(configDir, 'destination-rules.yaml'), destinationRules(scenario));
  const ratings = path.join(configDir, 'ratings.yaml');
  const authz = path.join(configDir, 'authz.yaml');
  const peer = path.join(configDir, 'peer-authentication.yaml');
  writeOrRemove(ratings, scenario === 'fault' ? ratingsFault : undefined);
  writeOrRemove(authz, scenario === 'authz' ? ratingsDenyReviews : undefined);
  writeOrRemove(peer, scenario === 'plaintext' ? detailsPlaintext : undefined);
  knobs.burst = scenario === 'breaker' ? 30 : 0;
  knobs.failing.clear();
  switch (scenario) {
    case 'none':
      return 'scenario: none — keys: f fault, b breaker, o outlier, a authz, p plaintext, n none';
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
    case 'authz':
      return `scenario authz: ratings denies reviews' identity (DENY AuthorizationPolicy in ${authz}); its calls answer 403 [RBAC]`;
    case 'plaintext':
      return `scenario plaintext: details opts out of mTLS (${peer}, tls DISABLE in destination-rules.yaml); productpage → details is plaintext`;
  }
}
