// The shapes, maps and small helpers weft_capture.c's programs share: one object, so one set of maps
// per install. Included only by weft_capture.c.
#ifndef WEFT_CAPTURE_H
#define WEFT_CAPTURE_H

#ifndef WEFT_PROXY_UID
#define WEFT_PROXY_UID 1337
#endif
#ifndef WEFT_OUTBOUND_PORT
#define WEFT_OUTBOUND_PORT 15001
#endif
#ifndef WEFT_INBOUND_PORT
#define WEFT_INBOUND_PORT 15006
#endif
#ifndef WEFT_MAX_CONNECTIONS
#define WEFT_MAX_CONNECTIONS 65536
#endif

#define WEFT_AF_INET 2
#define WEFT_AF_INET6 10
#define WEFT_IPPROTO_TCP 6
#define WEFT_SOL_IP 0
#define WEFT_SOL_IPV6 41
#define WEFT_SO_ORIGINAL_DST 80 /* SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST */

/* An address in one shape for both families: IPv4 (and v4-mapped IPv6) in ip[0], network order; port in
 * host order. Zeroed before filling, so it hashes the same wherever it is built. */
struct weft_addr {
	__u32 ip[4];
	__u16 port;
	__u16 family;
};

/* An inbound connection: the client's address and the pod address it called (port 0). */
struct weft_flow {
	struct weft_addr peer;
	struct weft_addr local;
};

struct weft_sockaddr_in {
	__u16 family;
	__be16 port;
	__u32 addr;
	__u8 zero[8];
};

struct weft_sockaddr_in6 {
	__u16 family;
	__be16 port;
	__u32 flowinfo;
	__u32 addr[4];
	__u32 scope_id;
};

/* LRU, so that a connection whose close the kernel never reports cannot fill the map for good, and
 * more open connections than entries evict the oldest, which the proxy read when it accepted them;
 * the callbacks above delete entries in the normal case (the tests count them back to zero). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CONNECTIONS);
	__type(key, __u64);
	__type(value, struct weft_addr);
} weft_connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CONNECTIONS);
	__type(key, struct weft_addr);
	__type(value, struct weft_addr);
} weft_orig_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CONNECTIONS);
	__type(key, struct weft_flow);
	__type(value, struct weft_addr);
} weft_inbound SEC(".maps");

/* Per destination port, Istio's include/exclude flags (weft ebpf install --exclude-outbound-ports,
 * --exclude-inbound-ports, --include-inbound-ports). Entry 0 (never a TCP destination) holds the
 * inbound mode: WEFT_PORT_INCLUDE_INBOUND there means only ports flagged so are captured inbound. */
#define WEFT_PORT_EXCLUDE_OUTBOUND 1
#define WEFT_PORT_EXCLUDE_INBOUND 2
#define WEFT_PORT_INCLUDE_INBOUND 4

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} weft_ports SEC(".maps");

/* --exclude-outbound-cidrs: IPv4 as v4-mapped IPv6 (::ffff:a.b.c.d/96+n), so one trie holds both. */
struct weft_cidr_key {
	__u32 prefixlen;
	__u32 ip[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_cidr_key);
	__type(value, __u8);
} weft_skip_cidrs SEC(".maps");

/* The pod's own IPv4 addresses (network order), written at install when inbound is captured: the
 * proxy connecting to one of them (the app called its own service) is sent to the inbound port, as
 * iptables' "proxy to a local non-loopback address → inbound" rule does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u8);
} weft_pod_ips SEC(".maps");

static __always_inline __u8 port_flags(__u32 port)
{
	__u8 *f = bpf_map_lookup_elem(&weft_ports, &port);
	return f ? *f : 0;
}

static __always_inline int is_v4_mapped(const __u32 ip6[4])
{
	return ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff);
}

static __always_inline int is_proxy(void)
{
	return (__u32)bpf_get_current_uid_gid() == WEFT_PROXY_UID;
}

/* Fills an address from a family and a v4 / v6 pair; v4-mapped IPv6 becomes IPv4 so both ends agree. */
static __always_inline void fill(struct weft_addr *a, __u32 family, __u32 ip4, const __u32 ip6[4], __u16 port)
{
	a->port = port;
	if (family == WEFT_AF_INET) {
		a->family = WEFT_AF_INET;
		a->ip[0] = ip4;
	} else if (is_v4_mapped(ip6)) {
		a->family = WEFT_AF_INET;
		a->ip[0] = ip6[3];
	} else {
		a->family = WEFT_AF_INET6;
		a->ip[0] = ip6[0];
		a->ip[1] = ip6[1];
		a->ip[2] = ip6[2];
		a->ip[3] = ip6[3];
	}
}

static __always_inline int outbound_excluded(const struct weft_addr *dst)
{
	if (port_flags(dst->port) & WEFT_PORT_EXCLUDE_OUTBOUND)
		return 1;
	struct weft_cidr_key k = { .prefixlen = 128 };
	if (dst->family == WEFT_AF_INET) {
		k.ip[2] = bpf_htonl(0xffff);
		k.ip[3] = dst->ip[0];
	} else {
		k.ip[0] = dst->ip[0];
		k.ip[1] = dst->ip[1];
		k.ip[2] = dst->ip[2];
		k.ip[3] = dst->ip[3];
	}
	return bpf_map_lookup_elem(&weft_skip_cidrs, &k) != 0;
}

#endif
