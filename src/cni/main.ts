// The `weft-cni` binary: CNI_* from the environment, the network config on stdin, the result (or a
// spec-shaped error) on stdout. Exit status 0 on success, 1 on error, as the CNI spec asks.
import { CniError } from './errors.js';
import { runPlugin } from './plugin.js';

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const stdin = await readStdin();
try {
  const { stdout, log } = await runPlugin(process.env, stdin);
  if (log) process.stderr.write(`${log}\n`);
  if (stdout) process.stdout.write(`${stdout}\n`);
} catch (e) {
  const err = e instanceof CniError ? e : new CniError(999, 'WEFT_E_CNI_INTERNAL', 'internal error', (e as Error).stack ?? String(e));
  let cniVersion = '1.0.0';
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string') cniVersion = v;
  } catch {
    /* undecodable config: answer in 1.0.0 */
  }
  process.stdout.write(`${JSON.stringify({ cniVersion, code: err.cniCode, msg: err.msg, details: `${err.weftCode}: ${err.details}` })}\n`);
  process.exitCode = 1;
}
