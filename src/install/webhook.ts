// The MutatingWebhookConfiguration that sends new Pods to the control plane's /inject (15017).
// A webhook's selectors are ANDed, so the opt-ins that are ORed are separate webhooks, as Istio
// does: namespace label weft-injection=enabled, or Istio's istio-injection=enabled, or a pod label
// sidecar.istio.io/inject=true in a namespace that says nothing. A pod label "false" opts out.
import type { IMutatingWebhook, IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CONTROL_PLANE_NAME, partOf, type InstallOptions, type K8sObject } from './manifest.js';

export const WEBHOOK_CONFIGURATION = 'weft-sidecar-injector';
export const INJECT_PATH = '/inject';
const INJECT_LABEL = 'sidecar.istio.io/inject';

type Requirement = { key: string; operator: 'In' | 'NotIn' | 'DoesNotExist'; values?: string[] };

export function webhookObjects(o: InstallOptions): K8sObject[] {
  const notOptedOut: Requirement = { key: INJECT_LABEL, operator: 'NotIn', values: ['false'] };
  const hook = (name: string, namespace: Requirement[], object: Requirement[]): IMutatingWebhook => ({
    name: `${name}.sidecar-injector.weft.io`,
    clientConfig: {
      service: { name: CONTROL_PLANE_NAME, namespace: o.namespace, path: INJECT_PATH, port: 15017 },
      // The root that signs the control plane's serving certificate (root-cert.pem of --ca-dir).
      ...(o.caRootPem !== undefined ? { caBundle: Buffer.from(o.caRootPem).toString('base64') } : {}),
    },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: { matchExpressions: namespace },
    objectSelector: { matchExpressions: object },
    // Fail closed (Istio's choice): a pod the mesh should cover is not started without its sidecar.
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    reinvocationPolicy: 'Never',
    timeoutSeconds: 10,
  });
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: WEBHOOK_CONFIGURATION, labels: partOf(WEBHOOK_CONFIGURATION) },
      webhooks: [
        hook('namespace', [{ key: 'weft-injection', operator: 'In', values: ['enabled'] }], [notOptedOut]),
        // Istio's label, unless Weft's is also set (then the hook above answers: one call per pod).
        hook('istio-namespace', [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }, { key: 'weft-injection', operator: 'DoesNotExist' }], [notOptedOut]),
        hook(
          'object',
          [
            { key: 'weft-injection', operator: 'DoesNotExist' },
            { key: 'istio-injection', operator: 'DoesNotExist' },
          ],
          [{ key: INJECT_LABEL, operator: 'In', values: ['true'] }],
        ),
      ],
    } satisfies IMutatingWebhookConfiguration,
  ];
}
