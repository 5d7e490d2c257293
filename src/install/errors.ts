// Stable error codes of `weft install`: each message names the flag or file at fault.

export const InstallErrorCodes = {
  WEFT_E_INSTALL_FLAG: '`weft install` was given a flag value it cannot use (a namespace that is not a DNS label, an empty image, an unknown output format); the message names the flag',
  WEFT_E_INSTALL_CA: "`weft install --ca-dir` could not read or create the CA there (unreadable file, a key others can read, a certificate that does not verify); the message names the file",
} as const;

export type InstallErrorCode = keyof typeof InstallErrorCodes;

export class InstallError extends Error {
  constructor(
    readonly code: InstallErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
