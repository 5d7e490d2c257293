// `weft inject` on YAML text: every pod template in every document goes through the one mutation, and
// the difference (a JSON Patch, as the webhook sends) is applied to the YAML document's own nodes, so
// comments, key order and quoting outside what changed stay as written (the yaml library's Document API).
import { isDeepStrictEqual } from 'node:util';
import { createPatch, type Operation } from 'rfc6902';
import { Pointer } from 'rfc6902/pointer.js';
import { Document, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { InjectError, type InjectErrorCode } from './errors.js';
import { injectPod } from './mutate.js';
import type { InjectOptions } from './options.js';
import { findTemplates, getAt, type Path } from './workloads.js';

export interface ManifestError {
  code: InjectErrorCode;
  /** `file: document N (line L): Kind ns/name: field: message [CODE]` */
  message: string;
}

export interface ManifestResult {
  output: string;
  errors: ManifestError[];
  /** One line per pod template: injected, or why not. */
  report: string[];
}

/** Inject every workload of a (multi-document) YAML text. With errors the output is not to be used. */
export function injectManifest(text: string, file: string, options: InjectOptions): ManifestResult {
  const errors: ManifestError[] = [];
  const report: string[] = [];
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) {
    return { output: '', errors: [{ code: 'WEFT_E_INJECT_INPUT', message: `${file}: not a YAML stream [WEFT_E_INJECT_INPUT]` }], report };
  }
  for (const [n, doc] of docs.entries()) {
    const where = (offset?: number) => `${file}: document ${n + 1}${offset !== undefined ? ` (line ${lineOf(text, offset)})` : ''}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push({ code: 'WEFT_E_INJECT_INPUT', message: `${where(e.pos[0])}: ${e.message.split('\n')[0]} [WEFT_E_INJECT_INPUT]` });
      continue;
    }
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias to an anchor of another document, or too many aliases (a billion laughs).
      errors.push({ code: 'WEFT_E_INJECT_INPUT', message: `${where(doc.range?.[0])}: ${(err as Error).message} [WEFT_E_INJECT_INPUT]` });
      continue;
    }
    for (const t of findTemplates(js)) {
      const template = getAt(js, t.path);
      try {
        const result = injectPod(template, options, { workloadName: t.workloadName });
        if (!result.injected) {
          report.push(`${t.resource}: not injected: ${result.reason}`);
          continue;
        }
        applyAt(doc, t.path, template, result.pod);
        report.push(`${t.resource}: injected`);
      } catch (err) {
        if (!(err instanceof InjectError)) throw err;
        for (const p of err.problems) {
          const field = [pointerPath(t.path), p.field].filter(Boolean).join('.');
          errors.push({ code: p.code, message: `${where(rangeStart(doc, t.path))}: ${t.resource}: ${field}: ${p.message} [${p.code}]` });
        }
      }
    }
  }
  if (errors.length > 0) return { output: '', errors, report };
  // An empty document (a trailing ---) holds nothing to keep; written out it would grow by one each run.
  const kept = docs.filter((d) => !(isScalar(d.contents) && d.contents.value === null) || d.commentBefore || d.comment);
  // JSON in (kubectl get -o json), JSON out: the YAML printer would keep JSON's flow style on one line.
  const json = /^\s*[{[]/.test(text) && kept.length === 1;
  const output = json ? `${JSON.stringify(kept[0].toJS(), null, 2)}\n` : kept.map((d, i) => withSeparator(d.toString({ lineWidth: 0 }), i)).join('');
  return { output, errors, report };
}

/** The template's change into the document: as a patch of its nodes, kept only if the whole document
 * then reads as intended; a path through an alias would also change every other place sharing the
 * anchor (a Deployment's selector aliased to its template labels), so then the template is written anew. */
function applyAt(doc: Document, path: Path, before: unknown, after: unknown): void {
  const intended = setAt(doc.toJS({ maxAliasCount: 100 }), path, after);
  const patched = doc.clone();
  try {
    applyPatch(patched, path, createPatch(before, after));
    if (isDeepStrictEqual(patched.toJS({ maxAliasCount: 100 }), intended)) {
      doc.contents = patched.contents;
      return;
    }
  } catch {
    // falls through to writing the template anew
  }
  doc.setIn(path, doc.createNode(after, { aliasDuplicateObjects: false }));
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]] = value;
  return copy;
}

/** Apply JSON Patch operations (paths relative to `base`) to a YAML document's nodes in place. */
export function applyPatch(doc: Document, base: Path, ops: Operation[]): void {
  for (const op of ops) {
    const tokens = Pointer.fromJSON(op.path).tokens.slice(1);
    const path: Path = [...base];
    for (const tok of tokens) path.push(isSeq(doc.getIn(path, true)) && tok !== '-' ? Number(tok) : tok);
    const last = path[path.length - 1];
    const parent = doc.getIn(path.slice(0, -1), true);
    switch (op.op) {
      case 'add':
        if (isSeq(parent)) parent.items.splice(last === '-' ? parent.items.length : Number(last), 0, doc.createNode(op.value, { aliasDuplicateObjects: false }));
        else doc.setIn(path, doc.createNode(op.value, { aliasDuplicateObjects: false }));
        break;
      case 'replace':
        doc.setIn(path, doc.createNode(op.value, { aliasDuplicateObjects: false }));
        break;
      case 'remove':
        doc.deleteIn(path);
        break;
      default:
        // createPatch emits add, remove and replace only.
        throw new Error(`unexpected JSON Patch operation ${op.op} at ${op.path}`);
    }
  }
}

function withSeparator(s: string, i: number): string {
  return i === 0 || s.startsWith('---') ? s : `---\n${s}`;
}

function pointerPath(path: Path): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('').replace(/\.\[/g, '[');
}

function rangeStart(doc: Document, path: Path): number | undefined {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  return node?.range?.[0] ?? (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
