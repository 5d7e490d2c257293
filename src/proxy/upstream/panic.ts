// Envoy's panic threshold (common_lb_config.healthy_panic_threshold): when fewer than that
// percentage of a priority level's hosts are usable (healthy and not ejected), the load balancer
// spreads over all of them instead, so a mostly failed cluster is not crushed onto a few hosts.

/** The hosts to balance over: the usable ones, or all of them in panic (0 disables panic). */
export function panicAware<H>(hosts: readonly H[], usable: (h: H) => boolean, thresholdPercent: number): H[] {
  const good = hosts.filter(usable);
  if (hosts.length === 0 || thresholdPercent <= 0) return good;
  return (100 * good.length) / hosts.length < thresholdPercent ? [...hosts] : good;
}
