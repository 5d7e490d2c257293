// weft-cni's commands (CNI spec 1.0.0), chained after the network plugin: ADD applies `weft iptables`'s
// rule set (the same code) inside CNI_NETNS and passes prevResult through unchanged; CHECK verifies the
// rules; DEL removes them and succeeds when the namespace is already gone; VERSION lists versions.
import fs from 'node:fs';

import { CaptureError, type CaptureErrorCode } from '../capture/errors.js';
import { applyCapture, cleanupCapture, verifyCapture } from '../capture/runner.js';
import { annotationsOf, decodeConfig, optOutReason, parseConfig, parseEnv, podOf, podSettings, SUPPORTED_VERSIONS, type Env, type PluginConfig } from './config.js';
import { CNI_CODE, CniError } from './errors.js';

export interface Outcome {
  /** What goes to stdout (a result, a version answer, or nothing). */
  stdout: string;
  /** A line for stderr (the runtime logs it): what was done, or skipped and why. */
  log: string;
}

const CAPTURE_TO_CNI: Record<CaptureErrorCode, number> = {
  WEFT_E_CAPTURE_BAD_SETTING: CNI_CODE.invalidConfig,
  WEFT_E_CAPTURE_NETNS: CNI_CODE.unknownContainer,
  WEFT_E_CAPTURE_CONFLICT: CNI_CODE.captureConflict,
  WEFT_E_CAPTURE_NO_IPTABLES: CNI_CODE.iptablesMissing,
  WEFT_E_CAPTURE_NO_NET_ADMIN: CNI_CODE.noPrivilege,
  WEFT_E_CAPTURE_APPLY: CNI_CODE.captureFailed,
};

/** Capture errors keep their WEFT_E_* code and get the CNI code the runtime sees. */
async function capturing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CaptureError) throw new CniError(CAPTURE_TO_CNI[e.code], e.code, what, e.message);
    throw e;
  }
}

export async function runPlugin(env: NodeJS.ProcessEnv, stdin: string): Promise<Outcome> {
  const e = parseEnv(env);
  const raw = decodeConfig(stdin);
  if (e.command === 'VERSION') return { stdout: JSON.stringify({ cniVersion: '1.0.0', supportedVersions: SUPPORTED_VERSIONS }), log: '' };
  const cfg = parseConfig(raw);
  const pod = podOf(e, cfg);
  const who = pod ? `pod ${pod.namespace}/${pod.name}` : `container ${e.containerId}`;
  if (e.command === 'DEL') return del(e, cfg, who);
  if (cfg.prevResult === undefined)
    throw new CniError(CNI_CODE.invalidConfig, 'WEFT_E_CNI_CONFIG', 'weft-cni must be chained', 'no prevResult: weft-cni runs after the network plugin in a conflist');
  const annotations = annotationsOf(pod, cfg);
  const skip = optOutReason(pod, annotations, cfg);
  const settings = skip ? undefined : podSettings(cfg, annotations);
  const target = { netns: e.netns! };
  if (e.command === 'CHECK') {
    if (cfg.cniVersion === '0.3.0' || cfg.cniVersion === '0.3.1') throw new CniError(CNI_CODE.incompatibleVersion, 'WEFT_E_CNI_VERSION', 'incompatible CNI version', `CHECK needs cniVersion 0.4.0 or later, not ${cfg.cniVersion}`);
    if (!settings) return { stdout: '', log: `weft-cni: CHECK ${who}: not captured (${skip})` };
    const problems = await capturing('capture check failed', () => verifyCapture(settings, target));
    if (problems.length) throw new CniError(CNI_CODE.checkFailed, 'WEFT_E_CNI_CHECK', 'capture rules are not in place', `${who} in ${e.netns}: ${problems.join('; ')}`);
    return { stdout: '', log: `weft-cni: CHECK ${who}: capture rules in place` };
  }
  // ADD: the result is the previous plugin's, unchanged (this plugin adds no interface or address).
  const result = JSON.stringify(cfg.prevResult);
  if (!settings) return { stdout: result, log: `weft-cni: ADD ${who}: skipped (${skip})` };
  const { families } = await capturing('capture setup failed', () => applyCapture(settings, target));
  return { stdout: result, log: `weft-cni: ADD ${who}: capture rules applied in ${e.netns} (iptables-${settings.backend}, IPv${families.join('+IPv')})` };
}

/** DEL is idempotent: nothing to do when the namespace is gone or holds no Weft chains. */
async function del(e: Env, cfg: PluginConfig, who: string): Promise<Outcome> {
  if (!e.netns || !fs.existsSync(e.netns)) return { stdout: '', log: `weft-cni: DEL ${who}: network namespace gone, nothing to remove` };
  const legacy = cfg.capture.iptablesLegacy === true || cfg.capture.iptablesLegacy === 'true';
  const { removed } = await capturing('capture cleanup failed', () => cleanupCapture(legacy ? 'legacy' : 'nft', { netns: e.netns }));
  return { stdout: '', log: `weft-cni: DEL ${who}: ${removed.length ? 'capture rules removed' : 'no capture rules'}` };
}
