// Tiny TCP peers for capture tests, run with `node -e` inside namespaces. A reporter listens on ports
// (dual stack) and answers each connection with the port it arrived on and the peer it saw, so a test
// can tell "the stand-in proxy on 15001 got it" from "the real server got it directly".
export interface Report {
  /** The local port the connection landed on (15001, 15006, or the server's own). */
  via: number;
  /** The remote address the listener saw. */
  peer: string;
  /** Which process answered (its label). */
  by: string;
}

/** argv: label port... ; prints "ready" once every port listens. */
export const REPORTER_JS = `
const net = require('net');
const [label, ...ports] = process.argv.slice(1);
let up = 0;
for (const p of ports) net.createServer((s) => {
  s.on('error', () => {});
  s.end(JSON.stringify({ via: s.localPort, peer: s.remoteAddress.replace(/^::ffff:/, ''), by: label }));
}).listen(Number(p), '::', () => { if (++up === ports.length) console.log('ready'); });
`;

/** argv: host port [localAddress] ; prints the reporter's answer, or {"error": code}. */
export const CONNECT_JS = `
const net = require('net');
const [host, port, localAddress] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}), timeout: 5000 });
let d = '';
s.on('data', (c) => (d += c));
s.on('end', () => console.log(d));
s.on('timeout', () => { console.log(JSON.stringify({ error: 'ETIMEDOUT' })); s.destroy(); });
s.on('error', (e) => console.log(JSON.stringify({ error: e.code })));
`;

/** argv: label port... ; a UDP reporter (dual stack): answers each datagram with the same JSON report. */
export const UDP_REPORTER_JS = `
const dgram = require('dgram');
const [label, ...ports] = process.argv.slice(1);
let up = 0;
for (const p of ports) {
  const s = dgram.createSocket({ type: 'udp6' });
  s.on('message', (m, r) => s.send(JSON.stringify({ via: Number(p), peer: r.address.replace(/^::ffff:/, ''), by: label }), r.port, r.address));
  s.bind(Number(p), '::', () => { if (++up === ports.length) console.log('ready'); });
}
`;

/** argv: host port ; sends one datagram, prints the answer, or {"error": "ETIMEDOUT"} after 5 s. */
export const UDP_ASK_JS = `
const dgram = require('dgram');
const [host, port] = process.argv.slice(1);
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const t = setTimeout(() => { console.log(JSON.stringify({ error: 'ETIMEDOUT' })); s.close(); }, 5000);
s.on('message', (m) => { clearTimeout(t); console.log(String(m)); s.close(); });
s.send('query', Number(port), host);
`;
