// Which metric and label names a PromQL expression uses: a small lexer and a walk over its tokens,
// enough for Grafana dashboards' queries (not an evaluator). Metric names are identifiers that are
// not functions (an identifier before `(`), keywords or aggregation modifiers; label names come
// from selectors `{a="b"}` (attached to their metric) and from by/without/on/ignoring/group_x
// clauses (attached to the expression). String contents, range and subquery brackets `[5m:1m]`,
// numbers and Grafana template variables ($var, ${var}, [[var]]) are values, never names.

export interface PromqlNames {
  metrics: Set<string>;
  /** Labels in a metric's own selector, by metric. */
  selectorLabels: Map<string, Set<string>>;
  /** Labels named by grouping clauses (by, without, on, ignoring, group_left/right). */
  groupingLabels: Set<string>;
}

type Token = { kind: 'ident'; text: string } | { kind: 'punct'; text: string } | { kind: 'string' } | { kind: 'number' } | { kind: 'var' };

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'Inf', 'NaN', 'inf', 'nan', 'start', 'end']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const NUMBER = /(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)/y;

export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string at ${i} in ${expr}`);
      out.push({ kind: 'string' });
      i = j + 1;
    } else if (c === '$') {
      // $var, ${var}, $__rate_interval: a value Grafana fills in.
      if (expr[i + 1] === '{') i = expr.indexOf('}', i) + 1;
      else {
        i++;
        while (i < expr.length && /[a-zA-Z0-9_]/.test(expr[i])) i++;
      }
      out.push({ kind: 'var' });
    } else if (c === '[') {
      // [[var]] (old Grafana), or a range / subquery: values only.
      const close = expr.startsWith('[[', i) ? expr.indexOf(']]', i) + 2 : expr.indexOf(']', i) + 1;
      if (close <= 0) throw new Error(`unterminated [ at ${i} in ${expr}`);
      out.push({ kind: expr.startsWith('[[', i) ? 'var' : 'number' });
      i = close;
    } else if (/[0-9.]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(expr);
      if (!m || m[0] === '') throw new Error(`bad number at ${i} in ${expr}`);
      // A duration suffix (offset 5m) belongs to the number.
      i += m[0].length;
      while (i < expr.length && /[smhdwy]/.test(expr[i])) i++;
      out.push({ kind: 'number' });
    } else if (/[a-zA-Z_:]/.test(c)) {
      IDENT.lastIndex = i;
      const m = IDENT.exec(expr)!;
      out.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else {
      const two = expr.slice(i, i + 2);
      const p = ['=~', '!~', '!=', '==', '>=', '<='].includes(two) ? two : c;
      out.push({ kind: 'punct', text: p });
      i += p.length;
    }
  }
  return out;
}

const isPunct = (t: Token | undefined, text: string): boolean => t?.kind === 'punct' && t.text === text;

export function promqlNames(expr: string): PromqlNames {
  const toks = tokenize(expr);
  const out: PromqlNames = { metrics: new Set(), selectorLabels: new Map(), groupingLabels: new Set() };
  const selector = (metric: string | undefined, at: number): number => {
    // `{` at toks[at]: label op value, … `}`. Returns the index after `}`.
    let i = at + 1;
    const labels = new Set<string>();
    let named = metric;
    while (i < toks.length && !isPunct(toks[i], '}')) {
      const t = toks[i];
      if (t.kind === 'ident' && toks[i + 1]?.kind === 'punct' && ['=', '!=', '=~', '!~'].includes((toks[i + 1] as { text: string }).text)) {
        if (t.text === '__name__') named = undefined; // the name is in the (string) value: not resolvable here
        else labels.add(t.text);
        i += 3;
      } else i++;
    }
    if (named !== undefined) {
      out.metrics.add(named);
      let set = out.selectorLabels.get(named);
      if (!set) out.selectorLabels.set(named, (set = new Set()));
      for (const l of labels) set.add(l);
    }
    return i + 1;
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (isPunct(t, '{')) {
      i = selector(undefined, i) - 1;
      continue;
    }
    if (t.kind !== 'ident') continue;
    if (GROUPING.has(t.text)) {
      // by (a, b): label names up to `)`; group_left may have no list.
      if (!isPunct(toks[i + 1], '(')) continue;
      let j = i + 2;
      for (; j < toks.length && !isPunct(toks[j], ')'); j++) {
        const l = toks[j];
        if (l.kind === 'ident') out.groupingLabels.add(l.text);
      }
      i = j;
      continue;
    }
    if (KEYWORDS.has(t.text)) continue;
    if (isPunct(toks[i + 1], '(')) continue; // a function or an aggregation
    // `sum by (x) (…)`, `sum without (x) (…)`: the aggregation name comes before its clause.
    if (toks[i + 1]?.kind === 'ident' && GROUPING.has((toks[i + 1] as { text: string }).text)) continue;
    if (isPunct(toks[i + 1], '{')) {
      i = selector(t.text, i + 1) - 1;
      continue;
    }
    out.metrics.add(t.text);
    if (!out.selectorLabels.has(t.text)) out.selectorLabels.set(t.text, new Set());
  }
  return out;
}

/** Every PromQL string of a Grafana dashboard: panel targets' `expr`, and templating `query` of type query. */
export function dashboardQueries(dashboard: unknown): { exprs: string[]; templating: string[] } {
  const exprs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'expr' && typeof x === 'string') exprs.push(x);
        else if (k !== 'templating') walk(x);
      }
    }
  };
  walk(dashboard);
  const list = ((dashboard as { templating?: { list?: { type?: string; query?: unknown }[] } }).templating?.list ?? []).filter((t) => t.type === 'query');
  const templating = list.map((t) => (typeof t.query === 'string' ? t.query : String((t.query as { query?: string })?.query ?? ''))).filter(Boolean);
  return { exprs, templating };
}

/** Grafana's query_result(expr) and label_values(metric, label) wrap PromQL: unwrap to PromQL. */
export function unwrapTemplating(q: string): string {
  const lv = /^\s*label_values\(\s*(.*?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q);
  if (lv) return `sum by (${lv[2]}) (${lv[1]})`;
  const qr = /^\s*query_result\((.*)\)\s*$/s.exec(q);
  return qr ? qr[1] : q;
}
