// The HTTP filter chain: small units run in order for each request (fault → router today;
// rbac and friends slot in between later). A filter either lets the request continue, stops
// it (it answered, or handed it upstream), or returns a promise of either.
import type { RequestContext } from './context.js';

export const CONTINUE = 0;
export const STOP = 1;
export type FilterStatus = typeof CONTINUE | typeof STOP;

export interface HttpFilter {
  readonly name: string;
  onRequest(ctx: RequestContext): FilterStatus | Promise<FilterStatus>;
}

/** Run filters from index i; synchronous filters cost no promise. */
export function runFilters(filters: readonly HttpFilter[], ctx: RequestContext, i = 0): void {
  for (; i < filters.length; i++) {
    const status = filters[i].onRequest(ctx);
    if (status === STOP) return;
    if (status !== CONTINUE) {
      const next = i + 1;
      status.then(
        (s) => {
          if (s === CONTINUE) runFilters(filters, ctx, next);
        },
        (err) => {
          ctx.res.destroy(err as Error);
        },
      );
      return;
    }
  }
}
