// The injection webhook's answer to one AdmissionReview (admission.k8s.io/v1), pure: the same mutation
// as `weft inject` (src/inject/mutate.ts), sent as the JSON Patch from the Pod as created to the Pod
// injected. Which pods get here at all is the API server's choice, by the MutatingWebhookConfiguration's
// namespaceSelector/objectSelector (docs/injection.md); a pod that opts out is still answered, unpatched.
import { createPatch } from 'rfc6902';
import { InjectError } from '../../inject/errors.js';
import { injectPod } from '../../inject/mutate.js';
import type { InjectOptions } from '../../inject/options.js';

const API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
  status?: { code: number; reason: string; message: string };
}

export type AdmissionAnswer =
  | { http: 200; review: { apiVersion: typeof API_VERSION; kind: 'AdmissionReview'; response: AdmissionResponse }; outcome: 'injected' | 'skipped' | 'denied' }
  | { http: 400; message: string };

export function answerReview(body: string, options: InjectOptions): AdmissionAnswer {
  const notAReview = (why: string): AdmissionAnswer => ({ http: 400, message: `not an AdmissionReview ${API_VERSION}: ${why} [WEFT_E_WEBHOOK_REVIEW]` });
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    return notAReview(`the body is not JSON (${(err as Error).message})`);
  }
  if (!isMap(review)) return notAReview('the body is not a JSON object');
  if (review.kind !== 'AdmissionReview') return notAReview(`kind is ${JSON.stringify(review.kind)}`);
  if (review.apiVersion !== API_VERSION) return notAReview(`apiVersion is ${JSON.stringify(review.apiVersion)} (the webhook is registered for ${API_VERSION} only)`);
  const request = review.request;
  if (!isMap(request)) return notAReview('it has no request');
  if (typeof request.uid !== 'string' || request.uid === '') return notAReview('request.uid is missing');
  const uid = request.uid;
  const answer = (response: Omit<AdmissionResponse, 'uid'>, outcome: 'injected' | 'skipped' | 'denied'): AdmissionAnswer => ({
    http: 200,
    review: { apiVersion: API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } },
    outcome,
  });
  const where = `${typeof request.namespace === 'string' ? request.namespace : '?'}/${podName(request.object)}`;
  const kind = isMap(request.kind) ? request.kind : {};
  if (kind.kind !== 'Pod' || (kind.group ?? '') !== '' || request.subResource)
    return answer({ allowed: true, warnings: [`weft injection: only Pods are injected, not ${[kind.group, kind.version, kind.kind].filter(Boolean).join('/') || 'an unnamed kind'}${request.subResource ? ` (subresource ${request.subResource})` : ''}; admitted unchanged`] }, 'skipped');
  // Containers of a Pod cannot change after creation; the webhook is registered for CREATE only.
  if (request.operation !== 'CREATE') return answer({ allowed: true }, 'skipped');
  if (!isMap(request.object))
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message: `weft injection: request.object is not a Pod [WEFT_E_WEBHOOK_REVIEW]` } }, 'denied');
  try {
    const result = injectPod(request.object, options);
    if (!result.injected) return answer({ allowed: true }, 'skipped');
    const patch = createPatch(request.object, result.pod);
    return answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }, 'injected');
  } catch (err) {
    if (!(err instanceof InjectError)) throw err;
    const message = `weft injection of pod ${where}: ${err.problems.map((p) => `${p.field}: ${p.message} [${p.code}]`).join('; ')}`;
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message } }, 'denied');
  }
}

function podName(obj: unknown): string {
  const meta = isMap(obj) && isMap(obj.metadata) ? obj.metadata : {};
  return typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
