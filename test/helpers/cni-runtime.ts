// Drives CNI plugins the way a container runtime does: the chain runner lives in src (the netns demo
// uses it too); the tests' runtime sends configs without a type to weft-cni, the plugin under test.
import { CniChain } from '../../src/demo/netns/cni-chain.js';

export { CniFailure, type CniRun, type ConfList, type PodRef } from '../../src/demo/netns/cni-chain.js';

export class CniRuntime extends CniChain {
  constructor(hostNs: string, extraPlugins: Record<string, string>) {
    super(hostNs, extraPlugins, 'weft-cni');
  }
}
