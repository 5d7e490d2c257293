// One bookinfo workload as its own process inside its pod (`weft demo --netns`): the same app as the
// explicit demo, in transparent mode — it listens on the service port and calls http://<service>:9080,
// knowing nothing of the mesh. The load generator is a workload too: it calls productpage at a rate.
// Each outcome a caller sees is printed as a JSON line [service, version, status] for the demo's table.
//   node pod-app.js '{"service":"reviews","version":"v2","calls":["ratings"]}' [rps]
import { callService, SERVICE_PORT, startApp, type AppSpec } from '../apps.js';

const print = (service: string, version: string, status: number) => process.stdout.write(`${JSON.stringify([service, version, status])}\n`);

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as AppSpec;
  const rps = Number(process.argv[3] ?? 0);
  if (spec.service !== 'loadgen') {
    await startApp(spec, SERVICE_PORT, { mode: 'transparent' }, { record: print });
    process.stdout.write('ready\n');
    return;
  }
  process.stdout.write('ready\n');
  setInterval(() => {
    for (let i = 0; i < rps / 10; i++) void callService({ mode: 'transparent' }, 'productpage', '/productpage').then((r) => print('productpage', r.version, r.status));
  }, 100);
}

process.on('SIGTERM', () => process.exit(0));
main().catch((err: Error) => {
  process.stderr.write(`pod-app: ${err.message}\n`);
  process.exit(1);
});
