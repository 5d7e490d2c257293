// Configuration of the processes that are not Weft: the backend server and the HAProxy / nginx
// sidecar pairs. Each peer is set up as a sidecar would be: one process per hop, one thread
// (Weft's proxy is one Node thread), HTTP mode, keep-alive to the upstream, no access log.
import fs from 'node:fs';
import path from 'node:path';
import type { HaproxyTls } from './mtls.js';

/** 1 KiB of body, the same bytes for every row. */
export const BODY_1K = 'x'.repeat(1023) + '\n';

function nginxPrologue(dir: string, name: string): string {
  const tmp = path.join(dir, `${name}-tmp`);
  fs.mkdirSync(tmp, { recursive: true, mode: 0o777 });
  fs.chmodSync(tmp, 0o777);
  return `worker_processes 1;
daemon off;
master_process on;
pid ${path.join(dir, `${name}.pid`)};
error_log ${path.join(dir, `${name}.error.log`)} warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
`;
}

/** gRPC's length-prefixed message framing: 1 flag byte (0: not compressed), 4 bytes length. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The unary response message: 1 KiB on the wire with its frame header, as the HTTP rows' body. */
export const GRPC_RESPONSE = grpcFrame(Buffer.from(BODY_1K.slice(5)));

export interface BackendPorts {
  /** HTTP/1.1 (also what the TCP rows carry, opaquely). */
  http1: number;
  /** h2c, prior knowledge. */
  h2c: number;
  /** gRPC unary over h2c. */
  grpc: number;
}

/** The app: nginx answering `return 200` with the 1 KiB body, over HTTP/1.1 and over h2c, and a
 * gRPC unary method answering a 1 KiB message with `grpc-status: 0` in trailers. A C server with
 * one worker keeps the backend far from being the bottleneck, and every row shares it.
 * The gRPC answer is a static file: nginx cannot put a NUL byte (the frame header) in `return`,
 * and its static module refuses POST with 405, which `error_page 405 =200` turns back into the
 * file (an error_page redirect is made as a GET). nginx never parses the request message, which
 * is what a unary echo-less method costs a server; the proxies see gRPC's full wire shape. */
/** `address`: where it listens (the capture rows' server pod: every address of the pod). */
export function backendConf(dir: string, ports: BackendPorts, address = '127.0.0.1'): string {
  const file = path.join(dir, 'backend.conf');
  const grpcRoot = path.join(dir, 'grpc-root');
  fs.mkdirSync(grpcRoot, { recursive: true });
  fs.writeFileSync(path.join(grpcRoot, 'unary'), GRPC_RESPONSE, { mode: 0o644 });
  // nginx's workers drop root: let them reach the file through the run's 0700 scratch directory
  // (traverse only, no listing).
  for (const d of [path.dirname(dir), dir, grpcRoot]) fs.chmodSync(d, 0o711);
  fs.writeFileSync(
    file,
    `${nginxPrologue(dir, 'backend')}
  server {
    listen ${address}:${ports.http1} reuseport backlog=4096;
    location / { default_type text/plain; return 200 "${BODY_1K.replace(/\n/g, '\\n')}"; }
  }
  server {
    listen ${address}:${ports.h2c} http2 backlog=4096;
    location / { default_type text/plain; return 200 "${BODY_1K.replace(/\n/g, '\\n')}"; }
  }
  server {
    listen ${address}:${ports.grpc} http2 backlog=4096;
    root ${grpcRoot};
    etag off;
    location / {
      default_type application/grpc;
      try_files /unary =404;
      error_page 405 =200 /unary;
      add_trailer grpc-status 0 always;
    }
  }
}
`,
  );
  return file;
}

/** One nginx sidecar: listen on `listen`, forward to 127.0.0.1:`upstream` over pooled keep-alive. */
export function nginxProxyConf(dir: string, name: string, listen: number, upstream: number): string {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    `${nginxPrologue(dir, name)}
  upstream up {
    server 127.0.0.1:${upstream};
    keepalive 128;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${listen} backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`,
  );
  return file;
}

/** How a HAProxy sidecar speaks: HTTP/1.1, h2c on both sides (`proto h2`, also gRPC), or opaque TCP. */
export type HaproxyMode = 'http1' | 'h2c' | 'tcp';

/** One HAProxy sidecar: one thread, server-side connection reuse in HTTP modes. */
export function haproxyConf(dir: string, name: string, listen: number, upstream: number, mode: HaproxyMode = 'http1', tls?: HaproxyTls): string {
  const file = path.join(dir, `${name}.cfg`);
  const h2 = mode === 'h2c' ? ' proto h2' : '';
  const http = mode === 'tcp' ? '' : '  option http-keep-alive\n  http-reuse always\n  timeout http-keep-alive 300s\n';
  fs.writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4096
${tls?.global ?? ''}  pidfile ${path.join(dir, `${name}.pid`)}

defaults
  mode ${mode === 'tcp' ? 'tcp' : 'http'}
${http}  timeout connect 5s
  timeout client 300s
  timeout server 300s

frontend ${name}_in
  bind 127.0.0.1:${listen}${h2}${tls?.bind ?? ''}
  default_backend ${name}_up

backend ${name}_up
  server up1 127.0.0.1:${upstream}${h2}${tls?.server ?? ''}
`,
  );
  return file;
}
