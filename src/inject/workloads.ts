// Where each kind keeps its pod template (Istio's kube-inject kinds, plus List). A document of any
// other kind has no template and passes through unchanged.

export type Path = (string | number)[];

const TEMPLATE_PATHS: Record<string, Path> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export const INJECTABLE_KINDS = Object.keys(TEMPLATE_PATHS);

export interface TemplateAt {
  /** From the document root to the pod template. */
  path: Path;
  kind: string;
  /** namespace/name (or name) of the object holding the template, for messages. */
  resource: string;
  workloadName?: string;
}

/** Every pod template in an object (a List's items included), outermost first. */
export function findTemplates(obj: unknown, at: Path = []): TemplateAt[] {
  if (!isMap(obj)) return [];
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const meta = isMap(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  const resource = `${kind} ${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${name}`;
  if (kind === 'List' || kind.endsWith('List')) {
    const items = Array.isArray(obj.items) ? obj.items : [];
    return items.flatMap((item, i) => findTemplates(item, [...at, 'items', i]));
  }
  const path = TEMPLATE_PATHS[kind];
  if (!path) return [];
  return [{ path: [...at, ...path], kind, resource, workloadName: kind === 'Pod' || typeof meta.name !== 'string' ? undefined : meta.name }];
}

export function getAt(obj: unknown, path: Path): unknown {
  let cur = obj;
  for (const k of path) cur = isMap(cur) || Array.isArray(cur) ? (cur as Record<string | number, unknown>)[k] : undefined;
  return cur;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
