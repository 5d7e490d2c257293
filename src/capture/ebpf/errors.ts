// Stable error codes of eBPF capture (`weft ebpf install|uninstall|status`). Each message names the
// flag, path or tool at fault and what to do about it; the CLI maps any of them to exit code 1.

export const EbpfErrorCodes = {
  WEFT_E_EBPF_BAD_FLAG: 'a `weft ebpf` flag is missing or malformed (install name, port, UID, map size)',
  WEFT_E_EBPF_NOT_PRIVILEGED: 'loading and attaching BPF programs needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN); nothing was changed',
  WEFT_E_EBPF_KERNEL: 'the running kernel is older than eBPF capture needs (5.10: cgroup connect, sock_ops, getsockopt, getsockname and sock_release hooks); use iptables capture',
  WEFT_E_EBPF_NO_CGROUP2: 'a --workload-cgroup or --proxy-cgroup path does not exist or is not a directory of a cgroup v2 (unified) mount',
  WEFT_E_EBPF_ROOT_CGROUP: 'a cgroup path is the root of a cgroup v2 mount, which holds every process on the machine; eBPF capture attaches only to the workload and proxy cgroups below it',
  WEFT_E_EBPF_NO_BPFFS: 'the --bpffs directory is not a BPF filesystem (mount -t bpf bpf DIR, or pass --mount-bpffs), so programs and maps cannot be pinned',
  WEFT_E_EBPF_TOOL_MISSING: 'clang (with the BPF target), bpftool or the libbpf headers (bpf/bpf_helpers.h, Debian package libbpf-dev) are not installed; for --inbound-interface also tc (iproute2) and nsenter (util-linux)',
  WEFT_E_EBPF_COMPILE: 'clang could not compile the capture programs (its diagnostics follow)',
  WEFT_E_EBPF_LOAD: 'bpftool could not load, pin, attach or detach a program or map (the kernel verifier or bpftool says why); what was done is undone',
  WEFT_E_EBPF_STATE: 'an install of that name already exists, or none does, or its state file is unreadable (weft ebpf status lists installs)',
} as const;

export type EbpfErrorCode = keyof typeof EbpfErrorCodes;

export class EbpfError extends Error {
  readonly code: EbpfErrorCode;
  /** The message without its code, for wrapping in another error's. */
  readonly detail: string;
  constructor(code: EbpfErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'EbpfError';
    this.code = code;
    this.detail = message;
  }
}
