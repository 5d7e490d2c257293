// Istio's host naming: short names resolve in a namespace; a service is reachable by several aliases.

export function serviceFqdn(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** Resolve a host as written in config (`reviews`, `reviews.default`, FQDN, or external name) to a
 * fully qualified name, the way Istio does: a name without dots is short for the config's namespace. */
export function resolveHost(host: string, namespace: string, domain: string): string {
  const h = host.toLowerCase();
  if (h === '*' || h.startsWith('*.')) return h;
  if (!h.includes('.')) return serviceFqdn(h, namespace, domain);
  const parts = h.split('.');
  // `reviews.default` and `reviews.default.svc` are namespace-qualified short forms.
  if (parts.length === 2 || (parts.length === 3 && parts[2] === 'svc')) return serviceFqdn(parts[0], parts[1], domain);
  return h;
}

/** Does a (possibly wildcard) config host cover a concrete service hostname? */
export function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
  return pattern === hostname;
}

/** The names an app may put in Host/:authority to reach `fqdn` (Istio's sidecar virtual-host domains).
 * Short forms only apply to clients in the same namespace. */
export function hostAliases(fqdn: string, clientNamespace: string, domain: string): string[] {
  const suffix = `.svc.${domain}`;
  if (!fqdn.endsWith(suffix)) return [fqdn];
  const [name, ns] = fqdn.slice(0, -suffix.length).split('.');
  const aliases = [fqdn, `${name}.${ns}.svc`, `${name}.${ns}`];
  if (ns === clientNamespace) aliases.push(name);
  return aliases;
}
