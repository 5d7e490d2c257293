// Columns as istioctl lays them out (Go's text/tabwriter: each column as wide as its widest cell plus
// a gap of `padding` spaces; the last column unpadded, trailing spaces trimmed).
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], padding: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + padding)))
      .join('')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}
