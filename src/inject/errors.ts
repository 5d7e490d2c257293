// Stable error codes of sidecar injection (`weft inject` and the admission webhook). Each error names
// the file (or review), the resource and the field; the webhook maps them to an AdmissionReview status.

export const InjectErrorCodes = {
  WEFT_E_INJECT_INPUT: '`weft inject` could not read its input (-f FILE or -), or a document is not well-formed YAML',
  WEFT_E_INJECT_ANNOTATION: "a pod's injection annotation or label has a value Weft cannot use (port list, CIDR list, quantity, proxy.istio.io/config YAML, true/false)",
  WEFT_E_INJECT_WORKLOAD: 'a workload cannot be injected as written (no pod template, containers missing, a name Weft needs is not a DNS label, or a name the sidecar needs is already taken)',
  WEFT_E_INJECT_OUTPUT: 'the injected pod failed the output check (a container without name or image, a duplicate container name, port or volume, a mount of a missing volume)',
  WEFT_E_WEBHOOK_REVIEW: 'the injection webhook got a body that is not an AdmissionReview admission.k8s.io/v1 with a request, or that is over the size limit (HTTP 400/413), or a review it cannot patch (denied with a status)',
} as const;

export type InjectErrorCode = keyof typeof InjectErrorCodes;

/** One problem with where it is: the field path is relative to the pod template (metadata…, spec…). */
export interface InjectProblem {
  code: InjectErrorCode;
  field: string;
  message: string;
}

export class InjectError extends Error {
  constructor(readonly problems: InjectProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message} [${p.code}]`).join('; '));
    this.name = 'InjectError';
  }
}
