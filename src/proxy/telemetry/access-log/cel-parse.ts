// A small CEL parser (the subset access-log filters use: `response.code >= 400`,
// `request.headers['x-debug'] == "1" && !connection.mtls`, `response.code in [500, 503]`, …):
// literals, attribute selection and indexing, calls, lists, ! and unary -, comparisons, `in`,
// && || and ?:. Arithmetic operators parse so the compiler can name them when refusing them.
// https://github.com/google/cel-spec/blob/master/doc/langdef.md#syntax

export type CelNode =
  | { k: 'lit'; v: string | number | boolean | null }
  | { k: 'ident'; name: string }
  | { k: 'select'; operand: CelNode; field: string }
  | { k: 'index'; operand: CelNode; index: CelNode }
  | { k: 'call'; target: CelNode | undefined; fn: string; args: CelNode[] }
  | { k: 'list'; items: CelNode[] }
  | { k: 'unary'; op: '!' | '-'; arg: CelNode }
  | { k: 'binary'; op: string; l: CelNode; r: CelNode }
  | { k: 'cond'; c: CelNode; t: CelNode; f: CelNode };

type Token = { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'end' };

export class CelSyntaxError extends Error {}

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '{', '}', '.', ',', '?', ':', '+', '-', '*', '/', '%'];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '`': '`', '?': '?' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)[uU]?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[1]) });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < src.length && src[j] !== c; j++) {
        if (src[j] === '\\') {
          const e = ESCAPES[src[++j]];
          if (e === undefined) throw new CelSyntaxError(`unsupported escape \\${src[j] ?? ''} at position ${j - 1}`);
          s += e;
        } else s += src[j];
      }
      if (j >= src.length) throw new CelSyntaxError(`unterminated string at position ${i}`);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelSyntaxError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
}

export function parseCel(src: string): CelNode {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const isOp = (v: string) => {
    const t = toks[pos];
    return t.t === 'op' && t.v === v;
  };
  const isKeyword = (v: string) => {
    const t = toks[pos];
    return t.t === 'id' && t.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw new CelSyntaxError(`expected "${v}" but found ${describe(peek())}`);
    pos++;
  };

  const expr = (): CelNode => {
    const c = or();
    if (!isOp('?')) return c;
    pos++;
    const t = or();
    expect(':');
    return { k: 'cond', c, t, f: expr() };
  };
  /** A left-associative level: operands from `next`, joined by any of `ops`. */
  const leftAssoc = (ops: readonly string[], next: () => CelNode) => (): CelNode => {
    let l = next();
    while (ops.some(isOp)) {
      const op = (toks[pos++] as { v: string }).v;
      l = { k: 'binary', op, l, r: next() };
    }
    return l;
  };
  const or = leftAssoc(['||'], () => and());
  const and = leftAssoc(['&&'], () => relation());
  const relation = (): CelNode => {
    let l = additive();
    for (;;) {
      const t = peek();
      const op = t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v) ? t.v : isKeyword('in') ? 'in' : undefined;
      if (!op) return l;
      pos++;
      l = { k: 'binary', op, l, r: additive() };
    }
  };
  const additive = leftAssoc(['+', '-'], () => multiplicative());
  const multiplicative = leftAssoc(['*', '/', '%'], () => unary());
  const unary = (): CelNode => {
    if (isOp('!')) {
      pos++;
      return { k: 'unary', op: '!', arg: unary() };
    }
    if (isOp('-')) {
      pos++;
      return { k: 'unary', op: '-', arg: unary() };
    }
    return member();
  };
  const args = (close: string): CelNode[] => {
    const out: CelNode[] = [];
    if (isOp(close)) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(expr());
      if (isOp(',')) {
        pos++;
        continue;
      }
      expect(close);
      return out;
    }
  };
  const member = (): CelNode => {
    let n = primary();
    for (;;) {
      if (isOp('.')) {
        pos++;
        const t = toks[pos++];
        if (t.t !== 'id') throw new CelSyntaxError(`expected a field name after "." but found ${describe(t)}`);
        if (isOp('(')) {
          pos++;
          n = { k: 'call', target: n, fn: t.v, args: args(')') };
        } else n = { k: 'select', operand: n, field: t.v };
      } else if (isOp('[')) {
        pos++;
        const index = expr();
        expect(']');
        n = { k: 'index', operand: n, index };
      } else return n;
    }
  };
  const primary = (): CelNode => {
    const t = toks[pos++];
    switch (t.t) {
      case 'num':
        return { k: 'lit', v: t.v };
      case 'str':
        return { k: 'lit', v: t.v };
      case 'id':
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
        if (t.v === 'null') return { k: 'lit', v: null };
        if (isOp('(')) {
          pos++;
          return { k: 'call', target: undefined, fn: t.v, args: args(')') };
        }
        return { k: 'ident', name: t.v };
      case 'op':
        if (t.v === '(') {
          const e = expr();
          expect(')');
          return e;
        }
        if (t.v === '[') return { k: 'list', items: args(']') };
        throw new CelSyntaxError(`unexpected "${t.v}"`);
      case 'end':
        throw new CelSyntaxError('unexpected end of expression');
    }
  };

  const root = expr();
  if (peek().t !== 'end') throw new CelSyntaxError(`unexpected ${describe(peek())} after the expression`);
  return root;
}

function describe(t: Token): string {
  return t.t === 'end' ? 'the end of the expression' : t.t === 'str' ? JSON.stringify(t.v) : `"${t.v}"`;
}
