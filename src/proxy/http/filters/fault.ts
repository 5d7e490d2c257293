// envoy.filters.http.fault: delay and/or abort a share of requests. The most specific config wins:
// the route's typed_per_filter_config, then the virtual host's, then the filter's own.
import type { FaultConfig, Percent } from '../../xds/model.js';
import { FAULT_TYPE_URL, faultConfig } from '../../xds/validate-fault.js';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter, type HttpFilterType } from '../filter.js';
import { sendLocalReply } from '../local-reply.js';
import { ResponseFlag } from '../response-flags.js';
import type { HttpStream } from '../stream.js';

export const FAULT_ABORT_BODY = 'fault filter abort';

export const faultFilterType: HttpFilterType<FaultConfig> = {
  typeUrl: FAULT_TYPE_URL,
  parse: faultConfig,
  parsePerRoute: faultConfig,
  create: (name, config, deps) => new FaultFilter(name, config, deps.random),
};

export class FaultFilter implements HttpFilter {
  readonly name: string;
  constructor(
    name: string,
    private readonly base: FaultConfig,
    private readonly random: () => number,
  ) {
    this.name = name;
  }

  onRequest(stream: HttpStream): FilterStatus | Promise<FilterStatus> {
    const cfg = stream.perFilterConfig<FaultConfig>(this.name, FAULT_TYPE_URL) ?? this.base;
    if (!cfg.delay && !cfg.abort) return CONTINUE;
    if (cfg.delay && cfg.delay.fixedDelayMs > 0 && this.hits(cfg.delay.percent)) {
      const ms = cfg.delay.fixedDelayMs;
      stream.info.addFlag(ResponseFlag.delayInjected);
      return new Promise<FilterStatus>((resolve) => {
        const timer = setTimeout(() => resolve(stream.res.destroyed ? STOP : this.maybeAbort(stream, cfg)), ms);
        // A client that gives up during the delay ends the request here.
        stream.res.once('close', () => {
          clearTimeout(timer);
          resolve(STOP);
        });
      });
    }
    return this.maybeAbort(stream, cfg);
  }

  private maybeAbort(stream: HttpStream, cfg: FaultConfig): FilterStatus {
    const abort = cfg.abort;
    if (abort && this.hits(abort.percent)) {
      sendLocalReply(stream, { status: abort.httpStatus, grpcStatus: abort.grpcStatus, flag: ResponseFlag.faultInjected, details: 'fault_filter_abort', body: FAULT_ABORT_BODY });
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
