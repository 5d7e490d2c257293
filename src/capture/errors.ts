// Stable error codes of traffic capture (`weft iptables`, `weft-cni`). Messages name the cause: the
// flag or config field, the missing binary with its Debian package, the conflicting chain.

export const CaptureErrorCodes = {
  WEFT_E_CAPTURE_BAD_SETTING: 'a capture setting (a `weft iptables` flag or a weft-cni config field) is malformed: a port list, CIDR, interface name, uid/gid or choice',
  WEFT_E_CAPTURE_NO_IPTABLES: 'an iptables binary the chosen backend needs (iptables-nft-restore, ip6tables-legacy-save, …) is not installed (Debian package iptables)',
  WEFT_E_CAPTURE_NO_NET_ADMIN: 'iptables refused for lack of privilege: the process needs CAP_NET_ADMIN (and CAP_NET_RAW) in the target network namespace',
  WEFT_E_CAPTURE_CONFLICT: "the network namespace already holds a capture rule set Weft must not stack on: Istio's ISTIO_* chains, or Weft's own chains under the other iptables backend",
  WEFT_E_CAPTURE_NETNS: 'the network namespace given (--netns, CNI_NETNS) cannot be entered, or nsenter (Debian package util-linux) is missing',
  WEFT_E_CAPTURE_APPLY: 'iptables-restore rejected the rule set or failed for another reason (its stderr is in the message)',
} as const;

export type CaptureErrorCode = keyof typeof CaptureErrorCodes;

export class CaptureError extends Error {
  readonly code: CaptureErrorCode;
  constructor(code: CaptureErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaptureError';
    this.code = code;
  }
}
