import { stringify } from 'yaml';
const a = { x: 1 }; a.self = a;
console.log(stringify({ kind: 'X', spec: a }));
const o = Object.fromEntries([['__proto__', 'v'], ['constructor', 'c']]);
console.log(stringify({ labels: o }));
