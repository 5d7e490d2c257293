// The peers we compare against come from Debian; say how to get them instead of failing obscurely.
import { execFileSync, spawnSync } from 'node:child_process';

export interface Tool {
  name: string;
  /** Debian package that provides it. */
  pkg: string;
  versionArgs: string[];
}

export const TOOLS = {
  haproxy: { name: 'haproxy', pkg: 'haproxy', versionArgs: ['-v'] },
  nginx: { name: 'nginx', pkg: 'nginx', versionArgs: ['-v'] },
  wrk: { name: 'wrk', pkg: 'wrk', versionArgs: ['-v'] },
  h2load: { name: 'h2load', pkg: 'nghttp2-client', versionArgs: ['--version'] },
} as const satisfies Record<string, Tool>;

export function findTool(tool: Tool): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      execFileSync('test', ['-x', `${dir}/${tool.name}`]);
      return `${dir}/${tool.name}`;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** First line of `tool -v` (nginx and wrk print it to stderr, and wrk exits 1). */
export function toolVersion(path: string, tool: Tool): string {
  const r = spawnSync(path, tool.versionArgs, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim();
}

/** Resolve every tool or throw one message listing the install command. */
export function requireTools(tools: Tool[]): Record<string, { path: string; version: string }> {
  const found: Record<string, { path: string; version: string }> = {};
  const missing: Tool[] = [];
  for (const t of tools) {
    const p = findTool(t);
    if (p) found[t.name] = { path: p, version: toolVersion(p, t) };
    else missing.push(t);
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ');
    throw new Error(
      `missing ${missing.map((t) => t.name).join(', ')}; install with:\n  apt-get update && apt-get install -y ${pkgs}\n` +
        `(or run only the control-plane part: npm run bench -- --only controlplane)`,
    );
  }
  return found;
}
