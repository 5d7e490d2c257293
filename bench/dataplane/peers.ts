// Configuration of the processes that are not Weft: the backend server and the HAProxy / nginx
// sidecar pairs. Each peer is set up as a sidecar would be: one process per hop, one thread
// (Weft's proxy is one Node thread), HTTP mode, keep-alive to the upstream, no access log.
import fs from 'node:fs';
import path from 'node:path';

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

/** The app: nginx answering `return 200` with the 1 KiB body. A C server with one worker keeps
 * the backend far from being the bottleneck, and every row shares it. */
export function backendConf(dir: string, port: number): string {
  const file = path.join(dir, 'backend.conf');
  fs.writeFileSync(
    file,
    `${nginxPrologue(dir, 'backend')}
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location / { default_type text/plain; return 200 "${BODY_1K.replace(/\n/g, '\\n')}"; }
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

/** One HAProxy sidecar: http mode, one thread, server-side connection reuse. */
export function haproxyConf(dir: string, name: string, listen: number, upstream: number): string {
  const file = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4096
  pidfile ${path.join(dir, `${name}.pid`)}

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s

frontend ${name}_in
  bind 127.0.0.1:${listen}
  default_backend ${name}_up

backend ${name}_up
  server up1 127.0.0.1:${upstream}
`,
  );
  return file;
}
