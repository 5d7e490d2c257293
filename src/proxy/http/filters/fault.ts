// envoy.filters.http.fault: delay and/or abort a share of requests. The most specific config
// wins: the route's typed_per_filter_config, then the virtual host's, then the filter's own.
import { LocalReplyReason } from '../../errors.js';
import type { FaultConfig, Percent } from '../../xds/model.js';
import type { RequestContext } from '../context.js';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter } from '../filter.js';
import { sendLocalReply } from '../headers.js';

export const FAULT_ABORT_BODY = 'fault filter abort';

export class FaultFilter implements HttpFilter {
  readonly name: string;
  constructor(
    name: string,
    private readonly base: FaultConfig,
    private readonly random: () => number,
  ) {
    this.name = name;
  }

  onRequest(ctx: RequestContext): FilterStatus | Promise<FilterStatus> {
    const cfg = ctx.route?.fault ?? ctx.vhost?.fault ?? this.base;
    if (!cfg.delay && !cfg.abort) return CONTINUE;
    if (cfg.delay && cfg.delay.fixedDelayMs > 0 && this.hits(cfg.delay.percent)) {
      const ms = cfg.delay.fixedDelayMs;
      return new Promise<FilterStatus>((resolve) => {
        const timer = setTimeout(() => resolve(ctx.res.destroyed ? STOP : this.maybeAbort(ctx, cfg)), ms);
        // A client that gives up during the delay ends the request here.
        ctx.res.once('close', () => {
          clearTimeout(timer);
          resolve(STOP);
        });
      });
    }
    return this.maybeAbort(ctx, cfg);
  }

  private maybeAbort(ctx: RequestContext, cfg: FaultConfig): FilterStatus {
    if (cfg.abort && this.hits(cfg.abort.percent)) {
      sendLocalReply(ctx.res, cfg.abort.httpStatus, FAULT_ABORT_BODY, LocalReplyReason.faultAbort);
      return STOP;
    }
    return CONTINUE;
  }

  private hits(p: Percent): boolean {
    if (p.numerator <= 0) return false;
    if (p.numerator >= p.denominator) return true;
    return this.random() * p.denominator < p.numerator;
  }
}
