// What weft_capture.c holds and where each program goes: the one table install, uninstall and status
// all read. Attach types are bpftool's names (`bpftool cgroup help`); the program names are the C
// functions, which bpftool uses as pin file names and the kernel (truncated to 15 characters) as the
// program's name.

export type CgroupRole = 'workload' | 'proxy';

export interface CaptureProgram {
  /** The C function, its pin file name under the install's program directory. */
  name: string;
  attachType: string;
  roles: readonly CgroupRole[];
  why: string;
}

export const CAPTURE_PROGRAMS: readonly CaptureProgram[] = [
  { name: 'weft_connect4', attachType: 'cgroup_inet4_connect', roles: ['workload'], why: "sends the app's IPv4 TCP connect() to the proxy's outbound port" },
  { name: 'weft_connect6', attachType: 'cgroup_inet6_connect', roles: ['workload'], why: "sends the app's IPv6 TCP connect() to the proxy's outbound port" },
  { name: 'weft_sockops', attachType: 'cgroup_sock_ops', roles: ['workload', 'proxy'], why: "keys the original destination by the app's local address once connected; deletes it when the proxy's socket closes" },
  { name: 'weft_release', attachType: 'cgroup_inet_sock_release', roles: ['workload'], why: 'drops the entry of an app socket that never connected' },
  { name: 'weft_getsockopt', attachType: 'cgroup_getsockopt', roles: ['proxy'], why: "answers SO_ORIGINAL_DST (SOL_IP / SOL_IPV6 80) on the proxy's accepted sockets" },
  { name: 'weft_sockname4', attachType: 'cgroup_inet4_getsockname', roles: ['proxy'], why: "makes getsockname() of the proxy's accepted IPv4 socket the original destination" },
  { name: 'weft_sockname6', attachType: 'cgroup_inet6_getsockname', roles: ['proxy'], why: "makes getsockname() of the proxy's accepted IPv6 socket the original destination" },
];

/** Inbound capture (--inbound-interface): tc programs on the pod's interface, not on a cgroup. */
export const TC_PROGRAMS = [
  { name: 'weft_tc_ingress', direction: 'ingress', why: "sends a connection to the pod's port to the proxy's inbound port, remembering the port" },
  { name: 'weft_tc_egress', direction: 'egress', why: "gives the proxy's inbound replies the port the client called" },
] as const;

/** The maps, bounded by --max-connections each (LRU hashes, emptied by the programs on close). */
export const CAPTURE_MAPS = ['weft_connecting', 'weft_inbound', 'weft_orig_dst'] as const;

export const CAPTURE_SOURCE = 'weft_capture.c';
