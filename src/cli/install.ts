// `weft install`: print the manifests that run Weft in a Kubernetes cluster (docs/install.md).
import { WEFT_VERSION } from '../api/version.js';
import { isDns1123Label, isDns1123Subdomain } from '../config/validate/common.js';
import { loadCaRoot } from '../install/ca-bundle.js';
import { InstallError } from '../install/errors.js';
import { formatInstallation, installation, type OutputFormat } from '../install/install.js';

/** The image of this version (`weft:0.1.0`); the user builds and pushes it (docs/install.md). */
export const defaultImage = (): string => `weft:${WEFT_VERSION}`;

export interface InstallFlags {
  namespace: string;
  image?: string;
  caDir?: string;
  trustDomain: string;
  cni?: boolean;
  skipCrds?: boolean;
  output: string;
}

export async function runInstall(flags: InstallFlags): Promise<number> {
  try {
    process.stdout.write(await installOutput(flags));
    return 0;
  } catch (err) {
    if (!(err instanceof InstallError)) throw err;
    process.stderr.write(`weft install: ${err.message}\n`);
    return 2;
  }
}

export async function installOutput(flags: InstallFlags, log: (msg: string) => void = (msg) => process.stderr.write(`weft install: ${msg}\n`)): Promise<string> {
  if (!isDns1123Label(flags.namespace)) throw new InstallError('WEFT_E_INSTALL_FLAG', `--namespace: ${JSON.stringify(flags.namespace)} is not a DNS label (lowercase letters, digits, '-')`);
  const image = flags.image ?? defaultImage();
  if (image === '' || /\s/.test(image)) throw new InstallError('WEFT_E_INSTALL_FLAG', `--image: expected an image reference such as weft:0.1.0, got ${JSON.stringify(image)}`);
  if (!isDns1123Subdomain(flags.trustDomain)) throw new InstallError('WEFT_E_INSTALL_FLAG', `--trust-domain: expected a DNS name such as cluster.local, got ${JSON.stringify(flags.trustDomain)}`);
  if (flags.output !== 'yaml' && flags.output !== 'json') throw new InstallError('WEFT_E_INSTALL_FLAG', `-o/--output: expected yaml or json, got ${JSON.stringify(flags.output)}`);
  const caRootPem = flags.caDir === undefined ? undefined : await loadCaRoot(flags.caDir, flags.trustDomain, log);
  const inst = installation({ namespace: flags.namespace, image, caRootPem, trustDomain: flags.trustDomain, cni: flags.cni === true, skipCrds: flags.skipCrds === true });
  for (const note of inst.notes) log(note);
  return formatInstallation(inst, flags.output as OutputFormat);
}
