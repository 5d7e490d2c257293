// Istio's host naming: short names resolve in a namespace; a service is reachable by several aliases.

export function serviceFqdn(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** Resolve a host as written in config to a fully qualified name, the way Istio does: only a name
 * without dots is short for the config's namespace; anything with a dot is taken as written. */
export function resolveHost(host: string, namespace: string, domain: string): string {
  const h = host.toLowerCase();
  return h.includes('.') || h === '*' ? h : serviceFqdn(h, namespace, domain);
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
