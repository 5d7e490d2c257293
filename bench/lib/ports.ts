// Free loopback ports from the kernel, so parallel test runs on this machine never collide.
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  // Hold all n open at once so the kernel cannot hand out the same port twice.
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((resolve, reject) => {
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(s);
    const addr = s.address();
    if (typeof addr === 'object' && addr) ports.push(addr.port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
