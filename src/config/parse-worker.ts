// The worker thread side of off-thread parsing (parse-off-thread.ts): parse one file's text per
// message and post the result back (with each resource's fingerprint). Runs the same parseConfigText
// as everything else.
import { parentPort } from 'node:worker_threads';
import { resourceFingerprint } from './config-set.js';
import { parseConfigText, type ConfigLimits } from './parse.js';

parentPort?.on('message', (m: { id: number; file: string; text: string; limits: Pick<ConfigLimits, 'maxDocumentBytes'> }) => {
  let result;
  try {
    const parsed = parseConfigText(m.text, m.file, m.limits);
    // Fingerprinted here too: serialising every resource is the other slow part of taking a file in.
    result = { id: m.id, result: parsed, fingerprints: parsed.resources.map(resourceFingerprint) };
  } catch (e) {
    result = { id: m.id, error: (e as Error).message };
  }
  parentPort!.postMessage(result);
});
