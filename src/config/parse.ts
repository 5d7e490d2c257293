// YAML text → typed, validated mesh resources. The one entry point for both `weft analyze` and the
// config stores, so a file means the same thing everywhere. Every problem is collected with its
// document, line and field path; a bad document never hides problems in the others.
import { open } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { ConfigError, MeshResource, Origin, ParseResult, SkippedResource } from './types.js';
import { formatPath, Issues, type Path } from './validate/issues.js';
import { isObj } from './validate/fields.js';
import { validateResource } from './validate/resource.js';

/** ConfigError.document for problems that concern a whole file (unreadable, duplicate across files). */
export const WHOLE_FILE = -1;

/** Size bounds on config input. Parsing YAML costs tens of times its size in memory, so a file past
 * these is an error for that file, never a risk to the process. Kubernetes caps an object near
 * 1.5 MiB (etcd's request limit); a document of Istio config is rarely over a few KiB. */
export interface ConfigLimits {
  maxFileBytes: number;
  maxDocumentBytes: number;
}
export const DEFAULT_CONFIG_LIMITS: ConfigLimits = { maxFileBytes: 8 * 1024 * 1024, maxDocumentBytes: 2 * 1024 * 1024 };

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

export function parseConfigText(text: string, file: string, limits: Pick<ConfigLimits, 'maxDocumentBytes'> = DEFAULT_CONFIG_LIMITS): ParseResult {
  const lineCounter = new LineCounter();
  const errors: ConfigError[] = [];
  const resources: MeshResource[] = [];
  const skipped: SkippedResource[] = [];
  // "Kind namespace/name" → where it was first defined, to reject a second definition in the same file.
  const seen = new Map<string, { document: number; line?: number }>();

  const docs = parseAllDocuments(text, { lineCounter, merge: true });
  if (!Array.isArray(docs)) return { ok: true, resources, skipped }; // empty stream

  docs.forEach((doc, document) => {
    const [start, , end] = doc.range;
    if (end - start > limits.maxDocumentBytes) {
      errors.push({
        code: 'WEFT_E_DOCUMENT_TOO_LARGE',
        file,
        document,
        line: lineCounter.linePos(start).line,
        path: '',
        message: `document of ${mib(end - start)} is larger than the limit of ${mib(limits.maxDocumentBytes)}; it is ignored`,
      });
      return;
    }
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        errors.push({ code: 'WEFT_E_YAML_SYNTAX', file, document, line: e.linePos?.[0]?.line, path: '', message: yamlMessage(e.message) });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      errors.push({ code: 'WEFT_E_YAML_SYNTAX', file, document, line: nodeLine(doc, lineCounter, []), path: '', message: yamlMessage((e as Error).message) });
      return;
    }
    if (value === null || value === undefined) return; // empty document ("---" with only comments)
    // An alias to one of its own ancestors makes the value contain itself: no resource is meant to
    // be infinite, and everything downstream (validation, fingerprints, JSON) assumes a tree.
    const cycle = recursionPath(value);
    if (cycle) {
      errors.push({ code: 'WEFT_E_YAML_SYNTAX', file, document, line: nodeLine(doc, lineCounter, cycle), path: formatPath(cycle), message: 'recursive alias: this value contains itself' });
      return;
    }

    const handle = (item: unknown, base: Path) => {
      const origin: Origin = { file, document, line: nodeLine(doc, lineCounter, base) };
      const issues = new Issues();
      const outcome = validateResource(issues, item, origin);
      for (const issue of issues.list) {
        errors.push({
          code: issue.code,
          file,
          document,
          line: nodeLine(doc, lineCounter, [...base, ...issue.path]),
          ...(outcome.identity ? { resource: outcome.identity } : {}),
          path: formatPath(issue.path),
          message: issue.message,
        });
      }
      if (outcome.type === 'skipped') {
        skipped.push(outcome.skipped);
        return;
      }
      // A second definition is an error even when the first one is invalid: fixing the first must
      // not silently change which one is served.
      const key = outcome.identity;
      if (key === undefined) return;
      const first = seen.get(key);
      if (first) {
        const where = `document ${first.document + 1}${first.line !== undefined ? ` (line ${first.line})` : ''}`;
        errors.push({
          code: 'WEFT_E_DUPLICATE_RESOURCE',
          file,
          document,
          line: nodeLine(doc, lineCounter, [...base, 'metadata', 'name']),
          resource: outcome.identity,
          path: 'metadata.name',
          message: `already defined in ${where} of this file; the first definition wins and this one is ignored`,
        });
        return;
      }
      seen.set(key, { document, line: origin.line });
      if (outcome.type === 'resource') resources.push(outcome.resource);
    };

    // `kind: List` (kubectl get -o yaml) carries resources in items.
    if (isObj(value) && value.kind === 'List' && (value.apiVersion === 'v1' || value.apiVersion === undefined)) {
      if (!Array.isArray(value.items)) {
        errors.push({ code: 'WEFT_E_TYPE', file, document, line: nodeLine(doc, lineCounter, ['items']), path: 'items', message: 'a List must have a list of items' });
        return;
      }
      value.items.forEach((item, i) => handle(item, ['items', i]));
      return;
    }
    handle(value, []);
  });

  return errors.length === 0 ? { ok: true, resources, skipped } : { ok: false, errors, resources, skipped };
}

export async function parseConfigFile(path: string, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): Promise<ParseResult> {
  const read = await readConfigFile(path, limits.maxFileBytes);
  if (read.kind === 'error') return { ok: false, errors: [read.error], resources: [], skipped: [] };
  return parseConfigText(read.text, path, limits);
}

export type ConfigRead = { kind: 'text'; text: string } | { kind: 'error'; error: ConfigError; cause?: NodeJS.ErrnoException };

/** Reads a config file, refusing one larger than maxBytes before reading it (and never reading more
 * than maxBytes + 1, should it grow meanwhile). */
export async function readConfigFile(path: string, maxBytes: number): Promise<ConfigRead> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size > maxBytes) return { kind: 'error', error: tooLarge(path, size, maxBytes) };
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) return { kind: 'error', error: tooLarge(path, n, maxBytes) };
    }
    return { kind: 'text', text: buf.toString('utf8', 0, n) };
  } catch (e) {
    return { kind: 'error', error: readError(path, e), cause: e as NodeJS.ErrnoException };
  } finally {
    await handle?.close();
  }
}

function tooLarge(file: string, size: number, maxBytes: number): ConfigError {
  return {
    code: 'WEFT_E_FILE_TOO_LARGE',
    file,
    document: WHOLE_FILE,
    path: '',
    message: `${mib(size)} is larger than the limit of ${mib(maxBytes)} per config file; it is not read`,
  };
}

export function readError(file: string, e: unknown): ConfigError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EISDIR' ? 'is a directory' : err.message;
  return { code: 'WEFT_E_READ_FILE', file, document: WHOLE_FILE, path: '', message: `cannot read: ${reason}` };
}

/**
 * The 1-based line of the deepest YAML node on `path` (the key's line for a mapping entry), so an
 * error points at the field itself, or at its closest existing parent when the field is missing.
 */
function nodeLine(doc: Document, lc: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

/** Where `root` contains itself (the path to the reference that closes the loop), if it does.
 * Iterative, so a deeply nested document cannot overflow the stack; shared values (plain aliases)
 * are walked once, so an alias-heavy document stays linear. */
function recursionPath(root: unknown): Path | undefined {
  type Node = Record<string, unknown> | unknown[];
  const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;
  if (!isNode(root)) return undefined;
  const done = new Set<Node>();
  const onPath = new Set<Node>();
  const path: (string | number)[] = [];
  const stack: { node: Node; keys: (string | number)[]; next: number }[] = [];
  const enter = (node: Node) => {
    onPath.add(node);
    stack.push({ node, keys: Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node), next: 0 });
  };
  enter(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.keys.length) {
      stack.pop();
      onPath.delete(top.node);
      done.add(top.node);
      path.pop();
      continue;
    }
    const key = top.keys[top.next++];
    const child = (top.node as Record<string | number, unknown>)[key];
    if (!isNode(child) || done.has(child)) continue;
    if (onPath.has(child)) return [...path, key];
    path.push(key);
    enter(child);
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

/** The yaml package's messages end with a code excerpt; keep the first line, without the position. */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').trim();
}
