// The worker thread side of off-thread parsing (parse-off-thread.ts): parse one file's text per
// message and post the result back. Runs the same parseConfigText as everything else.
import { parentPort } from 'node:worker_threads';
import { parseConfigText, type ConfigLimits } from './parse.js';

parentPort?.on('message', (m: { id: number; file: string; text: string; limits: Pick<ConfigLimits, 'maxDocumentBytes'> }) => {
  let result;
  try {
    result = { id: m.id, result: parseConfigText(m.text, m.file, m.limits) };
  } catch (e) {
    result = { id: m.id, error: (e as Error).message };
  }
  parentPort!.postMessage(result);
});
