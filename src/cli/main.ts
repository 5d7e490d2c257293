// `weft` — one binary, one subcommand per program. This file only parses arguments and hands off;
// each command module is loaded lazily so `weft proxy` never pays for control-plane code.
import { Command, Option } from 'commander';
import { defaultInjectOptions as injectDefaults } from '../inject/options.js';
import { WEFT_VERSION } from '../api/version.js';

const program = new Command('weft').description('Weft service mesh').version(WEFT_VERSION);

program
  .command('control-plane')
  .description('run the control plane: config watch, registry, xDS server, status')
  .option('--config-dir <dir>', 'directory of Istio-API YAML to load and watch', './weft-config')
  .option('--xds-address <host:port>', 'ADS gRPC listen address', '127.0.0.1:15010')
  .option('--monitor-address <host:port>', 'status/metrics listen address (/ready, /debug/syncz)', '127.0.0.1:15014')
  .option('--debounce-ms <ms>', 'quiet time before a push', '100')
  .option('--endpoint-grace-ms <ms>', 'how long an endpoint outlives its ADS stream', '3000')
  .option('--startup-grace-ms <ms>', 'after a start, how long reconnecting proxies keep their config while the registry refills (0: none)', '8000')
  .option('--domain <suffix>', 'cluster DNS suffix', 'cluster.local')
  .option('--push-concurrency <n>', 'proxies pushed to at once; the rest wait their turn', '100')
  .option('--max-registrations <n>', 'node ids registered at once, in all (0: no limit)', '10000')
  .option('--max-registrations-per-peer <n>', 'node ids registered at once from one peer host (0: no limit)', '1000')
  .option('--mesh-config <file>', "mesh-wide settings in Istio's MeshConfig field names (pathNormalization, outboundTrafficPolicy, ...); read at start")
  .option('--service-vip-range <cidr>', 'IPv4 range services without declared addresses get their VIP from (captured sidecars key TCP listeners on it; /debug/vips lists them)', '240.240.0.0/16')
  .option('--ca-dir <dir>', "the CA's directory: Istio's plug-in files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) or, when absent, a self-signed root created there; enables the secure xDS port")
  .option('--trust-domain <domain>', 'SPIFFE trust domain of workload identities', 'cluster.local')
  .option('--kube-api-server <url>', 'with --ca-dir: also take Kubernetes service-account tokens, verified by this API server (TokenReview, audience istio-ca)')
  .option('--kube-ca-file <file>', 'PEM that verifies --kube-api-server')
  .option('--kube-token-file <file>', "the control plane's own token for creating TokenReviews")
  .option('--workload-cert-ttl <duration>', 'lifetime of workload certificates when a CSR asks for none', '24h')
  .option('--secure-xds-port <port>', 'xDS over mTLS and the CA service (on the host of --xds-address; needs --ca-dir)', '15012')
  .option('--plaintext-xds <bool>', 'also serve plaintext xDS on --xds-address (true|false; needs --ca-dir to turn off)', 'true')
  .option('--serving-dns-names <names>', "with --ca-dir: more DNS names (comma-separated) in the control plane's serving certificate, e.g. its Service's weft-control-plane.weft-system.svc")
  .option('--insecure-registration', 'let proxies without a credential register as any identity (local development): with --ca-dir beside the CA, without it instead of one')
  .option('--webhook-port <port>', 'the sidecar injection webhook, HTTPS POST /inject (on the host of --xds-address; needs --ca-dir; 0: off)', '15017')
  .option('--inject-image <image>', 'webhook: the Weft image injected pods run', injectDefaults.image)
  .option('--inject-xds-address <host:port>', "webhook: the control plane's secure xDS address as pods reach it", injectDefaults.xdsAddress)
  .option('--no-inject-native-sidecar', 'webhook: inject a plain sidecar container instead of a native (restartPolicy: Always) init container')
  .option('--inject-cni', 'webhook: capture is done by weft-cni; no capture init container')
  .option('--inject-ca-root-configmap <name>', "webhook: the ConfigMap with the mesh root certificate in each namespace (default: the CA's root carried in each pod)")
  .option('--prometheus-url <url>', "the dashboard's metrics from this Prometheus (HTTP API, Kiali's queries) instead of scraping the proxies itself")
  .option('--dashboard-scrape-interval <duration>', "how often the dashboard scrapes the proxies' telemetry ports (without --prometheus-url; 0: never)", '5s')
  .action(async (opts) => (await import('./control-plane.js')).runControlPlane(opts));

program
  .command('proxy')
  .description('run the sidecar proxy, configured over ADS')
  .requiredOption('--xds-address <host:port>', 'control plane ADS address')
  .requiredOption('--service <name>', 'service this workload belongs to')
  .option('--namespace <ns>', 'namespace', 'default')
  .option('--labels <k=v,...>', 'workload labels (e.g. version=v1)', '')
  .option('--service-account <sa>', 'service account', 'default')
  .requiredOption('--app-port <port>', 'port the local app listens on')
  .option('--service-port <port>', 'port clients name (default: the app port)')
  .option('--address <ip>', 'address this workload is reached at', '127.0.0.1')
  .option('--outbound-port <port>', 'explicit outbound listener port', '15001')
  .option('--inbound-port <port>', 'inbound listener port', '15006')
  .option('--admin-port <port>', 'admin port (/ready, /config_dump, /clusters)', '15000')
  .option('--telemetry-port <port>', "merged telemetry port on 0.0.0.0: Istio's metrics at /stats/prometheus (0: off)", '15020')
  .option('--app-metrics-port <port>', "the app's own metrics port, merged into /stats/prometheus (Istio's prometheus.io/port)")
  .option('--app-metrics-path <path>', "the app's metrics path (Istio's prometheus.io/path)", '/metrics')
  .option('--cluster-id <id>', "cluster name in metric labels (Istio's CLUSTER_ID)", 'Kubernetes')
  .option('--log-level <level>', "every logger's starting level: trace, debug, info, warning, error, critical, off (weft proxy-config log changes it live)", 'info')
  .option('--no-metrics', "do not keep Istio's request and TCP metrics (the proxy's own stats stay)")
  .option('--protocol <protocol>', 'application protocol of the service port', 'HTTP')
  .option('--locality <region/zone/subzone>', "the workload's locality (sent as the xDS node's locality; locality load balancing)")
  .option('--id <id>', 'xDS node id (default: derived)')
  .option('--xds-protocol <protocol>', 'delta (incremental xDS; virtual hosts on demand over VHDS) or sotw (state of the world)', 'delta')
  .option('--max-downstream-connections <n>', 'overload manager: downstream connections across all listeners; more are closed at once', '20000')
  .option('--max-active-requests <n>', 'overload manager: requests in flight per listener; more get 503 (response flag OM)', '10000')
  .option('--drain-period-ms <ms>', "on SIGTERM: keep accepting this long while connections close after their response (Istio's terminationDrainDuration), then close", '5000')
  .option('--token-file <file>', 'workload token (weft token create) presented to the control plane as authorization: Bearer')
  .option('--ca-root-file <file>', "root certificate(s) that verify the control plane (its --ca-dir's root-cert.pem): get a workload certificate, then xDS over mTLS on --xds-address (the secure port)")
  .option('--ca-address <host:port>', 'the CA service (default: --xds-address)')
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
  .option('--mode <mode>', "explicit (the app sends to the outbound port) or transparent (iptables capture; needs SO_ORIGINAL_DST: Linux and the native addon npm install builds)", 'explicit')
  .option('--proxy-uid <uid>', 'when started as root: run as this uid (the capture rules exempt it; Istio 1337)')
  .option('--proxy-gid <gid>', 'when started as root: run as this gid (default: --proxy-uid)')
  .option('--status-port <port>', "status port on all addresses, for the kubelet (Istio's 15020): /healthz/ready and the app probes in ISTIO_KUBE_APP_PROBERS under /app-health/ (0: none)", '0')
  .action(async (opts) => (await import('./proxy.js')).runProxyCommand(opts));

const token = program.command('token').description('workload tokens for universal mode');
token
  .command('create')
  .description('print a token proving a namespace and service account (weft proxy --token-file)')
  .requiredOption('--namespace <ns>', 'namespace of the workload')
  .requiredOption('--service-account <sa>', 'service account of the workload')
  .option('--ttl <duration>', 'lifetime of the token', '720h')
  .option('--ca-dir <dir>', "the control plane's --ca-dir (its token signing key is created there if absent)", './weft-ca')
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
  .action(async (opts) => {
    process.exitCode = await (await import('./token.js')).runTokenCreate(opts);
  });

program
  .command('ca')
  .description('the mesh CA')
  .command('rotate')
  .description('rotate the root: add the new root to the trust bundle, re-issue every workload under it, remove the old root; reports each step')
  .requiredOption('--ca-dir <dir>', "the control plane's --ca-dir")
  .option('--monitor-address <host:port>', 'the control plane monitoring address (each step is confirmed through /debug/ca)', '127.0.0.1:15014')
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
  .option('--step-timeout <duration>', 'how long each step may take to be confirmed', '60s')
  .action(async (opts) => {
    process.exitCode = await (await import('./ca.js')).runCaRotate(opts);
  });

program
  .command('inject')
  .description('add the Weft sidecar (and its capture init container) to Kubernetes manifests, like istioctl kube-inject')
  .requiredOption('-f, --filename <file>', "manifest file, or - for stdin")
  .option('-o, --output <file>', 'write the injected manifests here (default: stdout)')
  .option('--image <image>', 'the Weft image the sidecar and init container run', injectDefaults.image)
  .option('--xds-address <host:port>', "the control plane's secure xDS address as pods reach it", injectDefaults.xdsAddress)
  .option('--no-native-sidecar', 'a plain sidecar container (app held until the proxy is ready) instead of an init container with restartPolicy: Always')
  .option('--cni', 'capture is set up by the weft-cni plugin: no capture init container')
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
  .option('--ca-root-configmap <name>', "ConfigMap with the mesh root certificate (root-cert.pem) in the pod's namespace (default: weft-ca-root-cert)")
  .option('--ca-root-file <file>', "instead of the ConfigMap: carry this root certificate (the CA dir's root-cert.pem) in each pod")
  .action(async (opts) => {
    process.exitCode = (await import('./inject.js')).runInject(opts);
  });

program
  .command('wait')
  .description("wait until a URL answers 200 (the sidecar's postStart hook: hold the app until the proxy is ready)")
  .option('--url <url>', 'the URL to poll', 'http://127.0.0.1:15020/healthz/ready')
  .option('--timeout <duration>', 'give up (exit 1) after this long', '600s')
  .option('--period-ms <ms>', 'time between tries', '200')
  .action(async (opts) => {
    process.exitCode = await (await import('./wait.js')).runWait(opts);
  });

program
  .command('analyze')
  .description("validate Istio-API YAML files or directories, then istioctl analyze's checks across resources; exits 1 on any error or error-level finding")
  .argument('<paths...>', 'files or directories')
  .option('--control-plane <host:port>', "the control plane's monitoring address: check hosts and workloads against its registry (default: only what the files declare)")
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(async (paths: string[], opts) => {
    process.exitCode = await (await import('./analyze.js')).runAnalyze(paths, opts);
  });

const describe = program.command('describe').description('what shapes traffic to a service or from a workload (istioctl x describe)');
const describeFlags = (c: Command) =>
  c
    .option('--monitor-address <host:port>', 'control plane monitoring address', '127.0.0.1:15014')
    .option('--config-dir <dir>', 'describe these config files offline instead (no registry: only endpoints the files declare)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
describeFlags(
  describe
    .command('service')
    .description('VirtualServices, DestinationRules, policies, ServiceEntries, versions and endpoints of a service; with --path/--header, the route a request takes and why')
    .argument('<name>', 'service: NAME, NAME.NAMESPACE or a full host')
    .option('-n, --namespace <ns>', 'namespace of a short NAME', 'default')
    .option('--path <path>', 'trace a request with this path (and query)')
    .option('--header <k=v>', 'a request header (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--method <method>', 'request method (default GET)')
    .option('--port <port>', 'service port called (default: its first HTTP port)')
    .option('--from <proxy>', "the calling proxy (node id, a unique prefix, or workload name like productpage-v1): routes as it sees them"),
).action(async (name: string, opts) => {
  process.exitCode = await (await import('./describe.js')).runDescribe('service', name, opts);
});
describeFlags(describe.command('workload').description("a proxy's identity, inbound policies and subsets, and the rules it uses per service it calls").argument('<proxy>', 'node id, a unique prefix, or workload name')).action(async (name: string, opts) => {
  process.exitCode = await (await import('./describe.js')).runDescribe('workload', name, opts);
});

program
  .command('proxy-status')
  .description("show each connected proxy's xDS sync state (SYNCED, STALE, NACKED) per type; with PROXY, also the diff per type between what it runs and what the control plane would send it now; exits 1 unless all are SYNCED (and match)")
  .argument('[proxy]', 'one proxy: its id from the list, or its workload part (reviews-4711.default)')
  .option('--monitor-address <host:port>', 'control plane monitoring address', '127.0.0.1:15014')
  .option('--admin-address <host:port>', "the proxy's admin address (default: the one it reported to the control plane)")
  .option('--csds', "read every client's status over CSDS (Envoy's ClientStatusDiscoveryService) on the control plane's plaintext xDS port instead of /debug/syncz")
  .option('--xds-address <host:port>', 'with --csds: the xDS address', '127.0.0.1:15010')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(async (proxy: string | undefined, opts) => {
    process.exitCode = await (await import('./proxy-status.js')).runProxyStatus(opts, proxy);
  });

const proxyConfig = program
  .command('proxy-config')
  .alias('pc')
  .description("what one proxy runs, from its admin port (istioctl proxy-config): tables, or the raw Envoy config with -o json|yaml");
const targetOptions = (c: Command) =>
  c
    .argument('[proxy]', 'a proxy id from weft proxy-status (or its workload part, reviews-4711.default)')
    .option('--admin-address <host:port>', "the proxy's admin address (default: the one it reported to the control plane)")
    .option('--monitor-address <host:port>', 'control plane monitoring address (to find PROXY)', '127.0.0.1:15014');
const sectionOptions: Record<string, (c: Command) => Command> = {
  listeners: (c) => c.option('--address <ip>', 'listeners on this address').option('--port <port>', 'listeners on this port').option('--type <type>', 'HTTP, TCP, HTTP+TCP or UNKNOWN'),
  routes: (c) => c.option('--name <name>', 'one route configuration'),
  clusters: (c) => c.option('--fqdn <fqdn>', 'clusters of this service').option('--port <port>', 'clusters of this port').option('--subset <subset>', 'clusters of this subset').option('--direction <dir>', 'inbound or outbound'),
  endpoints: (c) =>
    c.option('--address <ip>', 'endpoints with this address').option('--port <port>', 'endpoints with this port').option('--cluster <name>', 'endpoints of this cluster')
      .option('--fqdn <fqdn>', "endpoints of this service's clusters").option('--subset <subset>', 'endpoints of this subset').option('--direction <dir>', 'inbound or outbound')
      .option('--status <status>', 'HEALTHY, UNHEALTHY, DRAINING, DEGRADED (a host with no EDS health counts as HEALTHY)'),
  secrets: (c) => c.option('--name <name>', 'one secret'),
  bootstrap: (c) => c,
  all: (c) => c,
};
for (const [section, aliases, what] of [
  ['listeners', ['listener', 'l'], 'listeners and their filter chains'],
  ['routes', ['route', 'r'], 'route configurations, one row per route'],
  ['clusters', ['cluster', 'c'], 'clusters'],
  ['endpoints', ['endpoint', 'ep'], 'endpoints with their health and outlier state (from /clusters)'],
  ['secrets', ['secret', 's'], 'certificates: serial, SPIFFE ID, validity (never keys)'],
  ['bootstrap', ['b'], 'the bootstrap its flags amount to (node, admin, ADS)'],
  ['all', ['a'], 'every section'],
] as const) {
  const c = targetOptions(proxyConfig.command(section).aliases([...aliases]).description(what));
  sectionOptions[section](c)
    .addOption(new Option('-o, --output <format>', 'short (tables), json or yaml (the raw Envoy config)').choices(['short', 'json', 'yaml']).default(section === 'bootstrap' ? 'json' : 'short'))
    .action(async (proxy: string | undefined, opts) => {
      process.exitCode = await (await import('./proxy-config.js')).runProxyConfig(section, proxy, opts);
    });
}
targetOptions(proxyConfig.command('log').alias('o').description("show, or with --level change live, the proxy's log levels (Envoy's POST /logging)"))
  .option('--level <level>', 'trace, debug, info, warning, error, critical, off for every logger, or name:level,… for some (admin, config, http, main, upstream)')
  .option('--reset', 'every logger back to info')
  .action(async (proxy: string | undefined, opts) => {
    process.exitCode = await (await import('./proxy-config.js')).runProxyLog(proxy, opts);
  });
targetOptions(proxyConfig.command('stats').description("the proxy's stats (Envoy's text /stats)"))
  .option('--prometheus', 'in Prometheus text (/stats/prometheus)')
  .option('--filter <regex>', 'only the stats whose name matches')
  .action(async (proxy: string | undefined, opts) => {
    process.exitCode = await (await import('./proxy-config.js')).runProxyStats(proxy, opts);
  });

program
  .command('dashboard')
  .description("print the control plane's dashboard URL and open it in a browser (live service graph, services, proxies, config)")
  .option('--monitor-address <host:port>', 'control plane monitoring address', '127.0.0.1:15014')
  .option('--no-open', 'only print the URL')
  .action(async (opts) => {
    process.exitCode = await (await import('./dashboard.js')).runDashboard(opts);
  });

program
  .command('bootstrap')
  .description("print the bootstrap a client of Weft's control plane starts from: --envoy (an Envoy sidecar: ADS, admin, the node Weft registers) or --proxyless (a gRPC application's xDS resolver, no sidecar, in Istio's shape)")
  .option('--envoy', 'an Envoy bootstrap (envoy -c FILE)')
  .option('--proxyless', 'a proxyless gRPC bootstrap, always JSON (GRPC_XDS_BOOTSTRAP=<file> or GRPC_XDS_BOOTSTRAP_CONFIG=<json>)')
  .option('--serve-port <port>', '--proxyless: an xDS-enabled gRPC server (XdsServer) serving this port; it registers as an endpoint of --service and gets its inbound listener')
  .option('--domain <suffix>', '--proxyless: cluster DNS suffix', 'cluster.local')
  .requiredOption('--service <name>', 'service this workload belongs to')
  .option('--namespace <ns>', 'namespace', 'default')
  .option('--xds-address <host:port>', "the control plane's plaintext ADS address", '127.0.0.1:15010')
  .option('--admin-port <port>', "Envoy's admin port (on 127.0.0.1)", '15000')
  .option('--app-port <port>', 'port the local app listens on (none: the sidecar only calls out)')
  .option('--service-port <port>', 'port clients name (default: the app port)')
  .option('--labels <k=v,...>', 'workload labels (e.g. version=v1)', '')
  .option('--service-account <sa>', 'service account', 'default')
  .option('--address <ip>', 'address this workload is reached at', '127.0.0.1')
  .option('--locality <region/zone/subzone>', "the workload's locality")
  .option('--node-id <id>', 'xDS node id (default: derived, Istio-style)')
  .option('--mode <mode>', 'explicit or transparent (captured: INTERCEPTION_MODE REDIRECT)', 'explicit')
  .option('--sds-socket <path>', "the SDS agent's socket for mTLS secrets (Istio's sds-grpc cluster)")
  .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
  .action(async (opts) => {
    process.exitCode = (await import('./bootstrap.js')).runBootstrap(opts);
  });

const ebpf = program.command('ebpf').description("eBPF capture (Merbridge-style): an app's outbound connect() goes to the local proxy, which reads the original destination with SO_ORIGINAL_DST or getsockname()");
ebpf
  .command('install')
  .description("compile (clang), load and pin (bpftool) the capture programs and attach them to a workload's and its proxy's cgroup v2 (never the root cgroup)")
  .option('--workload-cgroup <dir>', "the app's cgroup v2 directory (e.g. /sys/fs/cgroup/unified/pod-x/app): its outbound TCP is captured")
  .option('--pod-pid <pid>', 'instead of --workload-cgroup: the cgroup v2 directory this process is in')
  .option('--proxy-cgroup <dir>', "the proxy's cgroup v2 directory (default: the workload cgroup, a pod cgroup holding both)")
  .option('--name <name>', 'install name (one per pod): pins under <bpffs>/weft/<name>, state in <state-dir>/<name>.json', 'default')
  .option('--bpffs <dir>', 'BPF filesystem for the pins', '/sys/fs/bpf')
  .option('--mount-bpffs', 'mount a BPF filesystem at --bpffs when none is there (uninstall unmounts it once no install has pins on it)')
  .option('--state-dir <dir>', 'where installs are recorded', '/run/weft/ebpf')
  .option('--cache-dir <dir>', 'compiled objects, by hash of source and settings (default: $XDG_CACHE_HOME/weft/ebpf or ~/.cache/weft/ebpf)')
  .option('--proxy-uid <uid>', "the proxy's UID: its connections are never redirected", '1337')
  .option('--outbound-port <port>', "the proxy's outbound capture port on 127.0.0.1 and ::1", '15001')
  .option('--inbound-interface <dev>', "also capture inbound: tc programs on the pod's interface send connections to its ports to --inbound-port (15000-15090 excepted)")
  .option('--pod-netns <file>', 'the network namespace of --inbound-interface (/run/netns/NAME, /proc/PID/ns/net; default: this one)')
  .option('--inbound-port <port>', "the proxy's inbound capture port", '15006')
  .option('--exclude-outbound-ports <ports>', 'comma-separated destination ports that go direct (istio-iptables -o)')
  .option('--exclude-outbound-cidrs <cidrs>', 'comma-separated IPv4/IPv6 CIDRs that go direct (istio-iptables -x), at most 256')
  .option('--include-inbound-ports <ports>', "inbound ports captured: '*' (all but 15000-15090) or a comma-separated list (istio-iptables -b)", '*')
  .option('--exclude-inbound-ports <ports>', 'comma-separated inbound ports left alone (istio-iptables -d)')
  .option('--max-connections <n>', 'entries of each map (connections being set up, connections open through the proxy)', '65536')
  .action(async (opts) => {
    process.exitCode = await (await import('./ebpf.js')).runEbpfInstall(opts);
  });
ebpf
  .command('uninstall')
  .description('detach, unpin and unmount what an install did')
  .option('--name <name>', 'install name', 'default')
  .option('--state-dir <dir>', 'where installs are recorded', '/run/weft/ebpf')
  .action(async (opts) => {
    process.exitCode = await (await import('./ebpf.js')).runEbpfUninstall(opts);
  });
ebpf
  .command('status')
  .description('list each install: its programs and the cgroups they are attached to (asked of the kernel), its maps and their entries')
  .option('--name <name>', 'one install (default: all)')
  .option('--state-dir <dir>', 'where installs are recorded', '/run/weft/ebpf')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(async (opts) => {
    process.exitCode = await (await import('./ebpf.js')).runEbpfStatus(opts);
  });

program
  .command('iptables')
  .description("install transparent capture rules in a network namespace (Istio's istio-iptables): outbound TCP to the proxy's outbound port, inbound TCP to its inbound port, the proxy's uid/gid exempt")
  .option('-p, --outbound-port <port>', 'outbound capture target (Istio --envoy-port)', '15001')
  .option('-z, --inbound-port <port>', 'inbound capture target (Istio --inbound-capture-port)', '15006')
  .option('-u, --proxy-uid <uid>', 'traffic of this uid is never captured', '1337')
  .option('-g, --proxy-gid <gid>', 'traffic of this gid is never captured', '1337')
  .option('-b, --include-inbound-ports <ports>', "inbound ports to capture: comma list, '*' for all, '' for none", '*')
  .option('-d, --exclude-inbound-ports <ports>', "inbound ports never captured (with '*')", '')
  .option('-i, --include-outbound-cidrs <cidrs>', "outbound destinations to capture: comma list of CIDRs or '*'", '*')
  .option('-x, --exclude-outbound-cidrs <cidrs>', 'outbound destinations never captured', '')
  .option('-q, --include-outbound-ports <ports>', 'outbound ports captured whatever the destination', '')
  .option('-o, --exclude-outbound-ports <ports>', 'outbound ports never captured', '')
  .option('-c, --exclude-interfaces <names>', 'interfaces whose traffic is never captured', '')
  .option('--capture-dns', "redirect UDP and TCP port 53 to the proxy's DNS port (the proxy's own queries exempt)")
  .option('--dns-port <port>', "the proxy's DNS port", '15053')
  .option('--ipv6 <mode>', 'also install ip6tables rules: auto (when the namespace has IPv6), on or off', 'auto')
  .option('--iptables-legacy', 'use the legacy backend (default iptables-nft; never both in one namespace)')
  .option('--dry-run', 'print the exact rules (iptables-restore input, IPv4 then IPv6) and change nothing')
  .option('--cleanup', "remove exactly Weft's chains and the jumps to them")
  .option('--netns <path>', 'apply inside this network namespace (/run/netns/NAME, /proc/PID/ns/net)')
  .action(async (opts) => {
    process.exitCode = await (await import('./iptables.js')).runIptables(opts);
  });

program
  .command('install')
  .description('print the Kubernetes manifests that run Weft in a cluster (namespace, CRDs, control plane, injection webhook, optional CNI node agent); pipe to kubectl apply -f -')
  .option('--namespace <ns>', "the control plane's namespace", 'weft-system')
  .option('--image <image>', 'the Weft container image (default: weft:<this version>)')
  .option('--ca-dir <dir>', "the mesh CA (as for weft control-plane: Istio's plug-in files, or a self-signed root created there); its root-cert.pem is the webhook's caBundle")
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
  .option('--cni', 'also install the weft-cni node agent (DaemonSet): capture set up by the CNI chain, no privileged init container')
  .option('--skip-crds', 'leave out the CRDs (a cluster that has Istio\'s own, or applies them separately)')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
  .action(async (opts) => {
    process.exitCode = await (await import('./install.js')).runInstall(opts);
  });

program
  .command('cni-node')
  .description('the CNI node agent (the DaemonSet of weft install --cni): put the weft-cni plugin on this node, chain it after the network plugin, unchain it on SIGTERM')
  .option('--host-root <dir>', "where the host's root is mounted ('' on the host itself)", '/host')
  .option('--bin-dir <dir>', 'host CNI bin dir', '/opt/cni/bin')
  .option('--net-dir <dir>', 'host CNI config dir', '/etc/cni/net.d')
  .option('--lib-dir <dir>', "host dir for the plugin's runtime (a Node binary and this package)", '/opt/weft')
  .requiredOption('--plugin-config <file>', "the plugin's entry in the chained conflist (JSON, type weft-cni)")
  .option('--check-interval-ms <ms>', 'how often to check that the chain is still in place', '5000')
  .option('--package-root <dir>', 'the package whose bin/weft-cni.js is installed (default: this one)')
  .action(async (opts) => (await import('./cni-node.js')).runCniNode(opts));

program
  .command('demo')
  .description('run a meshed bookinfo-like app on this machine with live traffic')
  .option('--dir <dir>', 'working directory for config and logs (default: a new temp dir)')
  .option('--base-port <port>', 'first port of the block the demo uses', '20000')
  .option('--rps <n>', 'requests per second the traffic generator sends', '40')
  .option('--no-auto-split', 'do not write the 90/10 reviews split after a few seconds')
  .option('--duration <seconds>', 'stop by itself after this many seconds (default: run until Ctrl-C)')
  .option('--scenario <name>', 'switch to a live scenario after a few seconds: fault, breaker, outlier, authz or plaintext (keys f/b/o/a/p/n switch in the table)')
  .option('--netns', 'as root: every workload in its own network namespace, apps calling services by name, traffic captured transparently')
  .option('--capture <mode>', 'with --netns: how traffic is captured: iptables, cni (weft-cni in the CNI chain) or ebpf', 'iptables')
  .action(async (opts) => (await import('./demo.js')).runDemo(opts));

await program.parseAsync(process.argv);
