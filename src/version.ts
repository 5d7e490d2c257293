// The release, in one place: `weft --version`, the proxy's istio_build tag.
export const WEFT_VERSION = '0.1.0';
