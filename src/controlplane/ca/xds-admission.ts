// Who may open an ADS stream, and as which registration: the proven identity (authenticate.ts) must
// cover the node's namespace and service account (registry/identity-check.ts) — checked on the first
// request, before anything is registered or sent, so a proxy proven as `sa/a` can neither register as
// `sa/b` nor receive `sa/b`'s config. Without a credential a stream is refused unless registration is
// insecure (--insecure-registration: today's local-development behaviour).
import * as grpc from '@grpc/grpc-js';
import { parseProxyNode } from '../model/proxy-node.js';
import { registrationMismatch } from '../registry/identity-check.js';
import type { StreamAdmission } from '../xds/server.js';
import type { Authenticator, CallerView } from './authenticate.js';

export function xdsAdmission(o: { authenticator: Authenticator; insecureRegistration: boolean }): (call: CallerView) => Promise<StreamAdmission> {
  return async (call) => {
    const auth = await o.authenticator.authenticate(call);
    if (auth.kind === 'refused') return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `${auth.message} [WEFT_E_UNAUTHENTICATED]` };
    if (auth.kind === 'anonymous') {
      if (o.insecureRegistration) return { ok: true };
      return {
        ok: false,
        code: grpc.status.UNAUTHENTICATED,
        message: 'no credential: present a workload certificate (secure xDS port) or a token (authorization: Bearer, weft token create); --insecure-registration allows none [WEFT_E_UNAUTHENTICATED]',
      };
    }
    return {
      ok: true,
      checkNode: (node) => {
        const parsed = parseProxyNode(node);
        // A malformed node is the stream's to refuse, with every problem named (INVALID_ARGUMENT).
        if (!parsed.ok) return undefined;
        const mismatch = registrationMismatch(auth.identity, parsed.node);
        return mismatch && `${mismatch} (${auth.by}) [WEFT_E_IDENTITY_MISMATCH]`;
      },
    };
  };
}
