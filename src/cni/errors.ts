// The weft-cni plugin's errors: a WEFT_E_* code for logs and docs, and the CNI spec 1.0.0 error code
// the runtime sees (https://github.com/containernetworking/cni/blob/main/SPEC.md#error).

export const CniErrorCodes = {
  WEFT_E_CNI_VERSION: 'the network config asks for a CNI version weft-cni does not speak (CNI code 1)',
  WEFT_E_CNI_UNSUPPORTED_FIELD: 'the weft-cni config has a field weft-cni does not know (CNI code 2)',
  WEFT_E_CNI_ENV: 'a CNI_* environment variable the command needs is missing or malformed (CNI code 4)',
  WEFT_E_CNI_DECODE: 'the network config on stdin is not JSON (CNI code 6)',
  WEFT_E_CNI_CONFIG: 'the weft-cni config is invalid: a capture setting, excludeNamespaces, podAnnotationsFile, or a missing prevResult (CNI code 7)',
  WEFT_E_CNI_LOOKUP: "the pod annotations lookup (podAnnotationsFile) could not be read; the runtime may retry (CNI code 11)",
  WEFT_E_CNI_INTERNAL: 'weft-cni failed unexpectedly (a bug; CNI code 999, the stack in details)',
  WEFT_E_CNI_CHECK: "CHECK found the pod's capture rules missing or changed (CNI code 104)",
} as const;

export type CniErrorCode = keyof typeof CniErrorCodes;

/** CNI spec error codes, and weft-cni's own (100 and up). */
export const CNI_CODE = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  captureFailed: 100,
  captureConflict: 101,
  iptablesMissing: 102,
  noPrivilege: 103,
  checkFailed: 104,
} as const;

export class CniError extends Error {
  constructor(
    readonly cniCode: number,
    readonly weftCode: string,
    readonly msg: string,
    readonly details: string,
  ) {
    super(`${weftCode}: ${msg}: ${details}`);
    this.name = 'CniError';
  }
}
