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
  caRootFile?: string;
}

/** The largest manifest read (a List of thousands of workloads stays well under it). */
const MAX_INPUT_BYTES = 64 << 20;

/** The injection flags both doors share; throws with the flag's name on a bad value. */
export function injectOptionsFromFlags(f: Omit<InjectFlags, 'filename' | 'output'>): InjectOptions {
  if (f.caRootFile !== undefined && f.caRootConfigmap !== undefined) throw new Error('give --ca-root-file or --ca-root-configmap, not both');
  let caRoot = defaultInjectOptions.caRoot;
  if (f.caRootConfigmap !== undefined) caRoot = { configMap: f.caRootConfigmap };
  if (f.caRootFile !== undefined) {
    const pem = fs.readFileSync(f.caRootFile, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--ca-root-file: ${f.caRootFile} holds no PEM certificate`);
    caRoot = { pem };
  }
  return {
    image: f.image ?? defaultInjectOptions.image,
    xdsAddress: f.xdsAddress ?? defaultInjectOptions.xdsAddress,
    nativeSidecar: f.nativeSidecar ?? defaultInjectOptions.nativeSidecar,
    cni: f.cni ?? defaultInjectOptions.cni,
    trustDomain: f.trustDomain ?? defaultInjectOptions.trustDomain,
    caRoot,
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
  let options: InjectOptions;
  try {
    options = injectOptionsFromFlags(f);
  } catch (err) {
    process.stderr.write(`weft inject: ${(err as Error).message} [WEFT_E_INJECT_INPUT]\n`);
    return 2;
  }
  const result = injectManifest(text, name, options);
  if (result.errors.length > 0) {
    for (const e of result.errors) process.stderr.write(`weft inject: ${e.message}\n`);
    return 1;
  }
  if (f.output) fs.writeFileSync(f.output, result.output);
  else process.stdout.write(result.output);
  return 0;
}
