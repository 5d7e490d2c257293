// The pod annotation (and label) keys injection and capture honour, by meaning: [Weft's name, Istio's
// name]; where both are set, Weft's wins. No dependencies: weft-cni reads the same keys.
/** Keys by meaning: [Weft's name, Istio's name]. */
export const ANNOTATIONS = {
  inject: ['weft.dev/inject', 'sidecar.istio.io/inject'],
  status: ['weft.dev/status', 'sidecar.istio.io/status'],
  includeInboundPorts: ['traffic.weft.dev/includeInboundPorts', 'traffic.sidecar.istio.io/includeInboundPorts'],
  excludeInboundPorts: ['traffic.weft.dev/excludeInboundPorts', 'traffic.sidecar.istio.io/excludeInboundPorts'],
  includeOutboundPorts: ['traffic.weft.dev/includeOutboundPorts', 'traffic.sidecar.istio.io/includeOutboundPorts'],
  excludeOutboundPorts: ['traffic.weft.dev/excludeOutboundPorts', 'traffic.sidecar.istio.io/excludeOutboundPorts'],
  includeOutboundIPRanges: ['traffic.weft.dev/includeOutboundIPRanges', 'traffic.sidecar.istio.io/includeOutboundIPRanges'],
  excludeOutboundIPRanges: ['traffic.weft.dev/excludeOutboundIPRanges', 'traffic.sidecar.istio.io/excludeOutboundIPRanges'],
  excludeInterfaces: ['traffic.weft.dev/excludeInterfaces', 'traffic.sidecar.istio.io/excludeInterfaces'],
  proxyConfig: ['proxy.weft.dev/config', 'proxy.istio.io/config'],
  proxyCPU: ['sidecar.weft.dev/proxyCPU', 'sidecar.istio.io/proxyCPU'],
  proxyMemory: ['sidecar.weft.dev/proxyMemory', 'sidecar.istio.io/proxyMemory'],
  proxyCPULimit: ['sidecar.weft.dev/proxyCPULimit', 'sidecar.istio.io/proxyCPULimit'],
  proxyMemoryLimit: ['sidecar.weft.dev/proxyMemoryLimit', 'sidecar.istio.io/proxyMemoryLimit'],
  proxyImage: ['sidecar.weft.dev/proxyImage', 'sidecar.istio.io/proxyImage'],
  nativeSidecar: ['sidecar.weft.dev/nativeSidecar', 'sidecar.istio.io/nativeSidecar'],
  rewriteAppHTTPProbers: ['sidecar.weft.dev/rewriteAppHTTPProbers', 'sidecar.istio.io/rewriteAppHTTPProbers'],
} as const;
