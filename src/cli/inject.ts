// `weft inject -f FILE|-` (istioctl kube-inject): the injected manifests on stdout (or -o FILE), each
// error on stderr naming file, document, resource and field; exit 1 on any error, with no output.
import fs from 'node:fs';
import { injectManifest } from '../inject/manifest.js';
import { defaultInjectOptions, type InjectOptions } from '../inject/options.js';

export interface InjectFlags {
  filename: string;
  output?: string;
  image?: string;
  xdsAddress?: string;
  nativeSidecar?: boolean;
  cni?: boolean;
  trustDomain?: string;
  caRootConfigmap?: string;
}

/** The largest manifest read (a List of thousands of workloads stays well under it). */
const MAX_INPUT_BYTES = 64 << 20;

export function injectOptionsFromFlags(f: Omit<InjectFlags, 'filename' | 'output'>): InjectOptions {
  return {
    image: f.image ?? defaultInjectOptions.image,
    xdsAddress: f.xdsAddress ?? defaultInjectOptions.xdsAddress,
    nativeSidecar: f.nativeSidecar ?? defaultInjectOptions.nativeSidecar,
    cni: f.cni ?? defaultInjectOptions.cni,
    trustDomain: f.trustDomain ?? defaultInjectOptions.trustDomain,
    caRootConfigMap: f.caRootConfigmap ?? defaultInjectOptions.caRootConfigMap,
  };
}

export function runInject(f: InjectFlags): number {
  const name = f.filename === '-' ? '<stdin>' : f.filename;
  let text: string;
  try {
    const buf = fs.readFileSync(f.filename === '-' ? 0 : f.filename);
    if (buf.length > MAX_INPUT_BYTES) throw new Error(`is ${buf.length} bytes; the limit is ${MAX_INPUT_BYTES}`);
    text = buf.toString('utf8');
  } catch (err) {
    process.stderr.write(`weft inject: ${name}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message} [WEFT_E_INJECT_INPUT]\n`);
    return 1;
  }
  const result = injectManifest(text, name, injectOptionsFromFlags(f));
  if (result.errors.length > 0) {
    for (const e of result.errors) process.stderr.write(`weft inject: ${e.message}\n`);
    return 1;
  }
  if (f.output) fs.writeFileSync(f.output, result.output);
  else process.stdout.write(result.output);
  return 0;
}
