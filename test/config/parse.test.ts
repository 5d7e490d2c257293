import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFingerprint, mergeConfig } from '../../src/config/config-set.js';
import { formatConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/parse.js';
import { assertHasError, errorsOf } from './helpers.js';

const VS = (name: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
${extra}spec:
  hosts: [${name}]
  http:
  - route:
    - destination:
        host: ${name}
`;

describe('parseConfigText: documents', () => {
  it('reads every document, skips empty ones, records origins', () => {
    const text = `# leading comment\n---\n${VS('a')}---\n# only a comment\n---\n\n---\n${VS('b')}`;
    const r = parseConfigText(text, 'f.yaml');
    assert.ok(r.ok);
    assert.deepEqual(
      r.resources.map((x) => [x.metadata.name, x.origin]),
      [
        ['a', { file: 'f.yaml', document: 0, line: 3 }],
        ['b', { file: 'f.yaml', document: 3, line: 18 }],
      ],
    );
  });

  it('an empty file is fine', () => {
    assert.deepEqual(parseConfigText('', 'e.yaml'), { ok: true, resources: [], skipped: [] });
    assert.deepEqual(parseConfigText('# nothing\n', 'e.yaml'), { ok: true, resources: [], skipped: [] });
  });

  it('namespace defaults to "default"; labels and annotations are kept', () => {
    const r = parseConfigText(VS('a', '  labels: {app: a}\n  annotations: {note: hi}\n  uid: 123\n'), 'f.yaml');
    assert.ok(r.ok);
    assert.deepEqual(r.resources[0].metadata, { name: 'a', namespace: 'default', labels: { app: 'a' }, annotations: { note: 'hi' } });
  });

  it('accepts v1, v1beta1 and v1alpha3', () => {
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      const r = parseConfigText(VS('a').replace('networking.istio.io/v1', `networking.istio.io/${v}`), 'f.yaml');
      assert.ok(r.ok, v);
      assert.equal(r.resources[0].apiVersion, `networking.istio.io/${v}`);
    }
  });

  it('rejects an unknown version of a handled kind', () => {
    const r = parseConfigText(VS('a').replace('networking.istio.io/v1', 'networking.istio.io/v2'), 'f.yaml');
    assertHasError(r, { code: 'WEFT_E_API_VERSION', path: 'apiVersion', message: /got "networking.istio.io\/v2"/ });
  });

  it('supports kind: List', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n- ${VS('a').replace(/\n/g, '\n  ').trimEnd()}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n`;
    const r = parseConfigText(text, 'l.yaml');
    assert.ok(r.ok, errorsOf(r).map(formatConfigError).join('\n'));
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.skipped.map((s) => s.kind), ['Service']);
  });
});

describe('parseConfigText: kinds Weft does not handle', () => {
  const cases = [
    { name: 'Istio Gateway', yaml: 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: istio-system}\nspec: {anything: goes}\n', want: 'Gateway istio-system/gw' },
    { name: 'Kubernetes Deployment', yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n', want: 'Deployment default/web' },
    { name: 'SMI TrafficSplit without apiVersion', yaml: 'kind: TrafficSplit\nmetadata: {name: canary}\nspec: {service: web}\n', want: 'TrafficSplit default/canary' },
    { name: 'a VirtualService of another API group', yaml: 'apiVersion: example.com/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {}\n', want: 'VirtualService default/v' },
  ];
  for (const c of cases) {
    it(`${c.name} is skipped, not an error`, () => {
      const r = parseConfigText(c.yaml, 's.yaml');
      assert.ok(r.ok);
      assert.equal(r.resources.length, 0);
      assert.deepEqual(r.skipped.map((s) => `${s.kind} ${s.namespace}/${s.name}`), [c.want]);
    });
  }
});

describe('parseConfigText: envelope errors', () => {
  const cases = [
    { name: 'kind missing', yaml: 'apiVersion: networking.istio.io/v1\nmetadata: {name: a}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'kind' },
    { name: 'apiVersion missing on a handled kind', yaml: 'kind: VirtualService\nmetadata: {name: a}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'apiVersion' },
    { name: 'metadata.name missing', yaml: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {namespace: x}\nspec: {host: a}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'metadata.name' },
    { name: 'metadata.name missing on a skipped kind', yaml: 'apiVersion: v1\nkind: Service\nmetadata: {}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'metadata.name' },
    { name: 'metadata missing', yaml: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nspec: {host: a}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'metadata' },
    { name: 'invalid name', yaml: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: Bad_Name}\nspec: {host: a}\n', code: 'WEFT_E_INVALID_VALUE', path: 'metadata.name' },
    { name: 'spec missing', yaml: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\n', code: 'WEFT_E_REQUIRED_FIELD', path: 'spec' },
    { name: 'unknown top-level field', yaml: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspce: {host: a}\nspec: {host: a}\n', code: 'WEFT_E_UNKNOWN_FIELD', path: 'spce' },
    { name: 'a scalar document', yaml: 'just a string\n', code: 'WEFT_E_NOT_A_RESOURCE', path: '' },
    { name: 'a list document', yaml: '- a\n- b\n', code: 'WEFT_E_NOT_A_RESOURCE', path: '' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assertHasError(parseConfigText(c.yaml, 'e.yaml'), { code: c.code, path: c.path, message: /./ });
    });
  }
});

describe('parseConfigText: error positions and collection', () => {
  it('points at the line of the offending field and names the resource', () => {
    const text = `${VS('a')}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 50\n    - destination: {host: reviews, subset: v2}\n      weight: "abc"\n`;
    const r = parseConfigText(text, 'bad.yaml');
    const e = assertHasError(r, { code: 'WEFT_E_TYPE', path: 'spec.http[0].route[1].weight', message: /got "abc"/ });
    assert.equal(e.line, 23);
    assert.equal(
      formatConfigError(e),
      'bad.yaml: document 2 (line 23): VirtualService default/reviews: spec.http[0].route[1].weight: must be an integer >= 0, got "abc" [WEFT_E_TYPE]',
    );
    assert.deepEqual(r.resources.map((x) => x.metadata.name), ['a'], 'the valid document still parses');
  });

  it('a missing field points at its parent', () => {
    const r = parseConfigText('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec:\n  subsets:\n  - name: v1\n', 'f.yaml');
    const e = assertHasError(r, { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.host', message: /required/ });
    assert.equal(e.line, 4);
  });

  it('a document with three problems reports three errors', () => {
    const text = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nspec:\n  hosts: [a]\n  http:\n  - timeout: later\n    route:\n    - destination: {host: ""}\n      weight: -1\n';
    const errors = errorsOf(parseConfigText(text, 'f.yaml'));
    assert.equal(errors.length, 3, errors.map(formatConfigError).join('\n'));
  });

  it('a YAML syntax error affects only its document', () => {
    const text = `${VS('a')}---\nfoo: [\n---\n${VS('b')}`;
    const r = parseConfigText(text, 'f.yaml');
    const e = assertHasError(r, { code: 'WEFT_E_YAML_SYNTAX', path: '', message: /./ });
    assert.equal(e.document, 1);
    assert.ok(e.line !== undefined && e.line >= 12);
    assert.deepEqual(r.resources.map((x) => x.metadata.name), ['a', 'b']);
  });

  it('duplicate YAML keys are a syntax error', () => {
    assertHasError(parseConfigText('apiVersion: v1\nkind: Service\nkind: Service\nmetadata: {name: a}\n', 'f.yaml'), { code: 'WEFT_E_YAML_SYNTAX', path: '', message: /unique/i });
  });

  it('the same Kind/namespace/name twice in one file: first wins, second is an error', () => {
    const r = parseConfigText(`${VS('a')}---\n${VS('a')}---\n${VS('a', '  namespace: other\n')}`, 'f.yaml');
    const e = assertHasError(r, { code: 'WEFT_E_DUPLICATE_RESOURCE', path: 'metadata.name', message: /already defined in document 1/ });
    assert.equal(e.document, 1);
    assert.deepEqual(r.resources.map((x) => `${x.metadata.namespace}/${x.origin.document}`), ['default/0', 'other/2']);
  });
});

// Found by fuzzing (test/fuzz/config.test.ts).
describe('parseConfigText: aliases and user-named keys', () => {
  const DR = (consistentHash: string) => `&doc
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: ${consistentHash}
`;

  it('a recursive alias is an error of its document (it used to pass, and crash the store that fingerprints it)', () => {
    const r = parseConfigText(DR('*doc'), 'f.yaml');
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.code, e.path, e.line]),
      [['WEFT_E_YAML_SYNTAX', 'spec.trafficPolicy.loadBalancer.consistentHash', 9]],
    );
    assert.equal(r.resources.length, 0);
    assert.equal(typeof configFingerprint(mergeConfig([{ file: 'f.yaml', resources: r.resources }]).config), 'string');
  });

  it('an alias that is not recursive is fine', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: &l {version: v1}}
  - {name: v2, labels: *l}
`;
    assert.ok(parseConfigText(text, 'f.yaml').ok);
  });

  it('a header match named __proto__ is kept (it vanished, and the route matched every request)', () => {
    const r = parseConfigText(
      VS('a').replace('  - route:', '  - match:\n    - headers: {__proto__: {exact: x}, constructor: {exact: y}}\n      queryParams: {__proto__: {exact: q}}\n    route:'),
      'f.yaml',
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const vs = r.resources[0];
    assert.equal(vs.kind, 'VirtualService');
    const m = vs.kind === 'VirtualService' ? vs.spec.http[0].match?.[0] : undefined;
    assert.deepEqual(Object.keys(m?.headers ?? {}), ['__proto__', 'constructor']);
    assert.deepEqual(Object.keys(m?.queryParams ?? {}), ['__proto__']);
  });

  it('a label named __proto__ is reported, not dropped', () => {
    const r = parseConfigText(VS('a', '  labels: {__proto__: x}\n'), 'f.yaml');
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map((e) => e.path), ['metadata.labels.__proto__']);
  });
});
