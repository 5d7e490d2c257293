// The control plane's Prometheus metrics, under istiod's names and labels so Istio's control-plane
// dashboard and alerts work unchanged (pilot_*, citadel_*, galley_validation_*, istio_build), plus
// prom-client's process_* and nodejs_* runtime metrics. One registry per control plane (not the
// global one), so tests that run several in one process see their own counts.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { XdsType } from '../../api/envoy.js';
import type { CsrOutcome } from '../ca/ca-service.js';
import type { WebhookOutcome } from '../webhook/server.js';
import { textToOpenMetrics } from './openmetrics.js';

/** Istio's short type names (pilot/pkg/model: v3.GetShortType); VHDS is Weft's addition. */
export const SHORT_TYPE: Record<XdsType, string> = { listener: 'lds', route: 'rds', cluster: 'cds', endpoint: 'eds', secret: 'sds', virtualHost: 'vhds' };

/** What made the control plane rebuild (pilot_push_triggers' `type`, Istio's reasons). */
export type PushTrigger = 'config' | 'endpoint' | 'secret';
const PUSH_TRIGGERS: readonly PushTrigger[] = ['config', 'endpoint', 'secret'];
/** sidecar_injection_failure_total's `type`. */
const INJECTION_FAILURES = ['denied', 'malformed', 'internal'] as const;

export interface PilotMetricsOptions {
  /** istio_build's tag: the control plane's version. */
  version: string;
  /** Connected proxies by the version they report (pilot_xds), read at scrape time. */
  connectedProxies: () => Map<string, number>;
  /** Expiry (epoch ms) of the root and of the signing chain, when a CA runs; read at scrape time. */
  caExpiry?: () => { rootMs: number; chainMs: number } | undefined;
}

export class PilotMetrics {
  readonly registry = new Registry<RegistryContentType>();
  private readonly pushes: Counter<'type'>;
  private readonly pushTime: Histogram<'type'>;
  private readonly configSize: Histogram<'type'>;
  private readonly convergence: Histogram;
  private readonly rejects: Counter<'type'>;
  private readonly internalErrors: Counter;
  private readonly triggers: Counter<'type'>;
  private readonly cfgEvents: Counter<'type' | 'event'>;
  private readonly regEvents: Counter<'type' | 'event'>;
  private readonly validationPassed: Counter<'group' | 'version' | 'resource'>;
  private readonly validationFailed: Counter<'group' | 'version' | 'resource' | 'reason'>;
  private readonly csr: Record<CsrOutcome | 'received', Counter>;
  readonly injection: { requests: Counter; success: Counter; failure: Counter<'type'>; skip: Counter };

  constructor(o: PilotMetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'istio_build', help: 'Istio component build info', labelNames: ['component', 'tag'], registers }).set({ component: 'pilot', tag: o.version }, 1);
    new Gauge({
      name: 'pilot_xds',
      help: 'Number of endpoints connected to this pilot using XDS.',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        for (const [version, n] of o.connectedProxies()) this.set({ version }, n);
      },
    });
    this.pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds.', labelNames: ['type'], registers });
    this.pushTime = new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.configSize = new Histogram({
      name: 'pilot_xds_config_size_bytes',
      help: 'Distribution of configuration sizes pushed to clients',
      labelNames: ['type'],
      buckets: [1, 10000, 1000000, 4000000, 10000000, 40000000],
      registers,
    });
    this.convergence = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: [0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers });
    this.internalErrors = new Counter({ name: 'pilot_total_xds_internal_errors', help: 'Total number of internal XDS errors in pilot.', registers });
    this.triggers = new Counter({ name: 'pilot_push_triggers', help: 'Total number of times a push was triggered, labeled by reason for the push.', labelNames: ['type'], registers });
    this.cfgEvents = new Counter({ name: 'pilot_k8s_cfg_events', help: 'Events from k8s config.', labelNames: ['type', 'event'], registers });
    this.regEvents = new Counter({ name: 'pilot_k8s_reg_events', help: 'Events from k8s registry.', labelNames: ['type', 'event'], registers });
    this.validationPassed = new Counter({ name: 'galley_validation_passed', help: 'Resource is valid.', labelNames: ['group', 'version', 'resource'], registers });
    this.validationFailed = new Counter({ name: 'galley_validation_failed', help: 'Resource validation failed.', labelNames: ['group', 'version', 'resource', 'reason'], registers });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    this.csr = {
      received: counter('citadel_server_csr_count', 'The number of CSRs received by Citadel server.'),
      issued: counter('citadel_server_success_cert_issuance_count', 'The number of certificates issuances that have succeeded.'),
      authentication_failure: counter('citadel_server_authentication_failure_count', 'The number of authentication failures.'),
      csr_parsing_error: counter('citadel_server_csr_parsing_err_count', 'The number of errors occurred when parsing the CSR.'),
      identity_mismatch: counter('citadel_server_id_extraction_err_count', 'The number of errors occurred when extracting the ID from CSR.'),
      sign_error: counter('citadel_server_csr_sign_err_count', 'The number of errors occurred when signing the CSR.'),
    };
    if (o.caExpiry) {
      const expiry = o.caExpiry;
      new Gauge({
        name: 'citadel_server_root_cert_expiry_timestamp',
        help: 'The unix timestamp, in seconds, when Citadel root cert will expire.',
        registers,
        collect() {
          const e = expiry();
          if (e) this.set(Math.floor(e.rootMs / 1000));
        },
      });
      new Gauge({
        name: 'citadel_server_cert_chain_expiry_timestamp',
        help: 'The unix timestamp, in seconds, when Citadel cert chain will expire.',
        registers,
        collect() {
          const e = expiry();
          if (e) this.set(Math.floor(e.chainMs / 1000));
        },
      });
    }
    this.injection = {
      requests: counter('sidecar_injection_requests_total', 'Total number of sidecar injection requests.'),
      success: counter('sidecar_injection_success_total', 'Total number of successful sidecar injection requests.'),
      failure: new Counter({ name: 'sidecar_injection_failure_total', help: 'Total number of failed sidecar injection requests.', labelNames: ['type'], registers }),
      skip: counter('sidecar_injection_skip_total', 'Total number of skipped sidecar injection requests.'),
    };
    // Series whose label values are known up front start at 0 (Prometheus' advice for labelled
    // counters): a dashboard's `sum by (type) (pilot_total_xds_rejects)` then shows 0, not "No data",
    // and rate() sees the first increment.
    for (const type of Object.values(SHORT_TYPE)) this.rejects.inc({ type }, 0);
    for (const type of PUSH_TRIGGERS) this.triggers.inc({ type }, 0);
    for (const type of INJECTION_FAILURES) this.injection.failure.inc({ type }, 0);
  }

  /** One xDS response written: its type, resource bytes, and the seconds from write to flushed. */
  pushed(type: XdsType, bytes: number): void {
    this.pushes.inc({ type: SHORT_TYPE[type] });
    this.configSize.observe({ type: SHORT_TYPE[type] }, bytes);
  }

  written(type: XdsType, seconds: number): void {
    this.pushTime.observe({ type: SHORT_TYPE[type] }, seconds);
  }

  rejected(type: XdsType): void {
    this.rejects.inc({ type: SHORT_TYPE[type] });
  }

  internalError(): void {
    this.internalErrors.inc();
  }

  /** A proxy's push finished `seconds` after the change that started it. */
  converged(seconds: number): void {
    this.convergence.observe(seconds);
  }

  triggered(reason: PushTrigger): void {
    this.triggers.inc({ type: reason });
  }

  configEvent(kind: string, event: 'add' | 'update' | 'delete'): void {
    this.cfgEvents.inc({ type: kind, event });
  }

  registryEvent(event: 'add' | 'update' | 'delete'): void {
    this.regEvents.inc({ type: 'WorkloadRegistration', event });
  }

  validated(group: string, version: string, kind: string, failure?: string): void {
    if (failure === undefined) this.validationPassed.inc({ group, version, resource: kind });
    else this.validationFailed.inc({ group, version, resource: kind, reason: failure });
  }

  /** One request to the injection webhook, by how it ended. */
  injectionOutcome(outcome: WebhookOutcome): void {
    this.injection.requests.inc();
    if (outcome === 'injected') this.injection.success.inc();
    else if (outcome === 'skipped') this.injection.skip.inc();
    else this.injection.failure.inc({ type: outcome === 'denied' ? 'denied' : outcome === 'rejected' ? 'malformed' : 'internal' });
  }

  csrOutcome(outcome: CsrOutcome): void {
    this.csr.received.inc();
    this.csr[outcome].inc();
  }

  /** The exposition for a scrape: OpenMetrics when the scraper asks for it, else text 0.0.4. The
   * registry always renders text (openmetrics.ts says why). */
  async expose(accept: string | undefined): Promise<{ contentType: string; body: string }> {
    const text = await this.registry.metrics();
    if (accept?.includes('application/openmetrics-text')) return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: textToOpenMetrics(text) };
    return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: text };
  }
}
