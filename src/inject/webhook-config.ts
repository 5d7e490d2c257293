// The MutatingWebhookConfiguration that sends pods to the injection webhook. The API server, not the
// webhook, decides which pods come: an AdmissionReview names the namespace but carries none of its
// labels, so opt-in is expressed as namespaceSelector/objectSelector (Istio's layout):
//   - namespace label weft-injection=enabled, or istio-injection=enabled: every pod, unless the pod
//     says sidecar.istio.io/inject (or weft.dev/inject) "false";
//   - a namespace with neither label: only pods labelled sidecar.istio.io/inject (or weft.dev/inject) "true";
//   - a namespace labelled anything else (weft-injection=disabled): no pod.
// failurePolicy Fail, as Istio: a pod that should be meshed is never created without its sidecar.

export interface WebhookConfigOptions {
  /** PEM of the mesh root that verifies the webhook's certificate. */
  caBundlePem: string;
  service: string;
  namespace: string;
  port: number;
  name?: string;
}

type Requirement = { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] };
const NAMESPACE_LABELS = ['weft-injection', 'istio-injection'];
const POD_LABELS = ['sidecar.istio.io/inject', 'weft.dev/inject'];

export function mutatingWebhookConfiguration(o: WebhookConfigOptions): Record<string, unknown> {
  const optOut: Requirement[] = POD_LABELS.map((key) => ({ key, operator: 'NotIn', values: ['false'] }));
  const entries: { name: string; namespace: Requirement[]; object: Requirement[] }[] = [
    // weft-injection=enabled; istio-injection=enabled where weft-injection is absent (a namespace
    // with both would otherwise be called twice).
    { name: 'namespace.sidecar-injector.weft.dev', namespace: [{ key: 'weft-injection', operator: 'In', values: ['enabled'] }], object: optOut },
    { name: 'istio-namespace.sidecar-injector.weft.dev', namespace: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }, { key: 'weft-injection', operator: 'DoesNotExist' }], object: optOut },
    ...POD_LABELS.map((key, i) => ({
      name: `${i === 0 ? 'object' : 'weft-object'}.sidecar-injector.weft.dev`,
      namespace: NAMESPACE_LABELS.map((k) => ({ key: k, operator: 'DoesNotExist' as const })),
      // The second entry skips pods the first one already takes.
      object: [{ key, operator: 'In' as const, values: ['true'] }, ...POD_LABELS.slice(0, i).map((k) => ({ key: k, operator: 'NotIn' as const, values: ['true'] }))],
    })),
  ];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: o.name ?? 'weft-sidecar-injector', labels: { app: 'weft-control-plane' } },
    webhooks: entries.map((e) => ({
      name: e.name,
      admissionReviewVersions: ['v1'],
      clientConfig: { service: { name: o.service, namespace: o.namespace, path: '/inject', port: o.port }, caBundle: Buffer.from(o.caBundlePem).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchExpressions: e.namespace },
      objectSelector: { matchExpressions: e.object },
      sideEffects: 'None',
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      timeoutSeconds: 10,
    })),
  };
}
