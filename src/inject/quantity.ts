// Kubernetes resource quantities (100m, 2, 1.5, 128Mi, 1G) as numbers, to compare a request with its
// limit the way the API server does (it refuses a request above its limit).
const SUFFIX: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
export const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function quantityValue(q: string): number | undefined {
  const m = QUANTITY.exec(q.trim());
  return m ? Number(m[1]) * SUFFIX[m[2] ?? ''] : undefined;
}
