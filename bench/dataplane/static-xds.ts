// A fixed-config ADS server (state of the world) in its own process, for the rows the control
// plane cannot describe yet (h2c, gRPC and tcp_proxy pairs) and the mTLS rows (whose certificates
// the harness makes with openssl): it serves, per xDS node id, the Envoy resources (listeners,
// clusters, SDS secrets) the harness wrote to a JSON file, and never pushes again. Any xDS server can drive
// `weft proxy`; this one is the smallest that does.
// Usage: node static-xds.js <port> <resources.json>; prints "ready" once bound.
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { aggregatedDiscoveryService, packAny, TypeUrl, xdsTypeOf, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';

/** Per node id: the listeners, clusters and SDS secrets (plain Envoy objects in proto field names). */
export type StaticResources = Record<string, { listeners: object[]; clusters: object[]; secrets?: object[] }>;

type Call = grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>;

function serve(resources: StaticResources, port: number): void {
  let nonce = 0;
  const server = new grpc.Server();
  server.addService(aggregatedDiscoveryService().service, {
    StreamAggregatedResources: (call: Call) => {
      let nodeId = '';
      call.on('error', () => {});
      call.on('end', () => call.end());
      call.on('data', (req: DiscoveryRequestWire) => {
        // The node is sent on the first request of a stream only.
        if (req.node?.id) nodeId = req.node.id;
        // ACKs and NACKs carry the nonce they answer: nothing new to send. A NACK would show in
        // the proxy's log and its /ready would not come up, which the harness waits on.
        if (req.response_nonce) return;
        const type = xdsTypeOf(req.type_url);
        const mine = resources[nodeId];
        const list =
          type === 'listener' ? (mine?.listeners ?? []) : type === 'cluster' ? (mine?.clusters ?? []) : type === 'secret' ? (mine?.secrets ?? []) : [];
        const typeUrl = type ? TypeUrl[type] : req.type_url;
        call.write({ version_info: '1', type_url: typeUrl, nonce: String(++nonce), resources: list.map((r) => packAny(typeUrl, r)) });
      });
    },
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      console.error(err.message);
      process.exit(1);
    }
    console.log('ready');
  });
}

const [portArg, file] = process.argv.slice(2);
if (portArg && file) serve(JSON.parse(fs.readFileSync(file, 'utf8')) as StaticResources, Number(portArg));
