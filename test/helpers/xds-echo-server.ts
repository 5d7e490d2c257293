// A child process running an xDS-enabled gRPC server (grpc-js-xds XdsServer, gRPC A36), bootstrap
// from GRPC_XDS_BOOTSTRAP_CONFIG: it binds argv[2] (`127.0.0.1:<port>`), answers each call with
// argv[3], and prints `serving` once the control plane's listener put it in serving mode.
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { echoService } from './grpc-echo.js';

const [address, name] = process.argv.slice(2);
xds.register();
const server = new xds.XdsServer();
server.addService(echoService, { Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) });
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stdout.write(`bind failed: ${err.message}\n`);
    process.exit(1);
  }
});
// After bindAsync: the port's entry exists from then on.
server.addServingStateListener(address, (s) => process.stdout.write(`${s.code === grpc.status.OK ? 'serving' : `not serving: ${s.details}`}\n`));
process.on('SIGTERM', () => server.forceShutdown());
