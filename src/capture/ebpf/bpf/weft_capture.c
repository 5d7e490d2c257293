// Weft's eBPF capture (the Merbridge approach): an app's outbound TCP connect() is sent to the local
// proxy's outbound port, and the proxy learns the original destination from the kernel as it would
// under iptables (getsockopt SO_ORIGINAL_DST), or from a plain getsockname().
//
//   connect4/6   (workload cgroup) original destination -> weft_connecting[socket cookie]; rewrite to
//                127.0.0.1:OUTBOUND_PORT ([::1] for IPv6). The proxy's UID, loopback, and the ports
//                and CIDRs in weft_ports / weft_skip_cidrs (the --exclude-outbound-* flags) are exempt.
//   sockops      (workload) active established: the app's local ip:port is now known; move the entry
//                to weft_orig_dst[app ip:port], which is the proxy's accepted socket's peer.
//                (proxy) passive established on OUTBOUND_PORT: ask for state callbacks; on TCP_CLOSE
//                delete the entry. Deleting on the proxy's close, not the app's, means an app that
//                writes and closes at once cannot remove the entry before the proxy has asked for it.
//   sock_release (workload) a socket that never got established drops its weft_connecting entry.
//   getsockopt   (proxy) SOL_IP/SOL_IPV6 SO_ORIGINAL_DST answered from weft_orig_dst (outbound port)
//                or weft_inbound (inbound port).
//   getsockname4/6 (proxy) the accepted socket's local address reads as the original destination.
//   tc ingress   (the pod's interface) a SYN from outside to a port neither reserved (15000-15090)
//                nor excluded in weft_ports (--include/--exclude-inbound-ports): the
//                destination port goes to weft_inbound[client ip:port, pod ip] and is rewritten to
//                INBOUND_PORT, as is every later packet of that flow; tc egress rewrites the proxy's
//                replies' source port back, so the client sees the port it called. sockops deletes
//                the entry when the proxy's inbound socket closes.
//
// Compiled at install time by `weft ebpf install` (clang -target bpf), never committed as an object.
// The -D values (defaults in weft_capture.h) come from the install flags.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_capture.h"

/* Remembers where the app meant to go, keyed by its socket until its local port is known. 0: the
 * connection is refused (EPERM) rather than let through uncaptured when the map cannot take it. */
static __always_inline int remember(struct bpf_sock_addr *ctx, struct weft_addr *dst)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	return bpf_map_update_elem(&weft_connecting, &cookie, dst, BPF_ANY) == 0;
}

/* Istio keeps 15000-15090 for the proxy itself (admin, status, metrics, the capture ports): never
 * captured inbound. */
static __always_inline int reserved_port(__u16 port)
{
	return port >= 15000 && port <= 15090;
}

/* Whether a connection to this port of the pod is captured inbound (--include/--exclude-inbound-ports). */
static __always_inline int inbound_port_captured(__u16 port)
{
	__u8 flags = port_flags(port);
	return !reserved_port(port) && !(flags & WEFT_PORT_EXCLUDE_INBOUND) && (!(port_flags(0) & WEFT_PORT_INCLUDE_INBOUND) || (flags & WEFT_PORT_INCLUDE_INBOUND));
}

/* The proxy calling its own pod's address (the app called its own service): to the inbound port, so
 * the request passes the inbound side. Its hand-off to the app, bound to 127.0.0.6, goes direct. */
static __always_inline int proxy_to_own_pod4(struct bpf_sock_addr *ctx)
{
	__u32 ip = ctx->user_ip4;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (!bpf_map_lookup_elem(&weft_pod_ips, &ip) || !inbound_port_captured(port))
		return 1;
	struct bpf_sock *sk = ctx->sk;
	if (!sk || sk->src_ip4 == bpf_htonl(0x7f000006))
		return 1;
	struct weft_addr dst = {};
	dst.family = WEFT_AF_INET;
	dst.ip[0] = ip;
	dst.port = port;
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_port = bpf_htons(WEFT_INBOUND_PORT);
	return 1;
}

SEC("cgroup/connect4")
int weft_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->protocol != WEFT_IPPROTO_TCP)
		return 1;
	if (is_proxy())
		return proxy_to_own_pod4(ctx);
	if ((bpf_ntohl(ctx->user_ip4) >> 24) == 127)
		return 1; /* loopback: the app's own host, and the proxy itself */
	struct weft_addr dst = {};
	dst.family = WEFT_AF_INET;
	dst.ip[0] = ctx->user_ip4;
	dst.port = bpf_ntohs((__u16)ctx->user_port);
	if (outbound_excluded(&dst))
		return 1;
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_ip4 = bpf_htonl(0x7f000001);
	ctx->user_port = bpf_htons(WEFT_OUTBOUND_PORT);
	return 1;
}

SEC("cgroup/connect6")
int weft_connect6(struct bpf_sock_addr *ctx)
{
	if (ctx->protocol != WEFT_IPPROTO_TCP || is_proxy())
		return 1;
	__u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	int mapped = is_v4_mapped(ip6);
	if (mapped && (bpf_ntohl(ip6[3]) >> 24) == 127)
		return 1;
	if (!mapped && ip6[0] == 0 && ip6[1] == 0 && ip6[2] == 0 && ip6[3] == bpf_htonl(1))
		return 1; /* ::1 */
	struct weft_addr dst = {};
	fill(&dst, WEFT_AF_INET6, 0, ip6, bpf_ntohs((__u16)ctx->user_port));
	if (outbound_excluded(&dst))
		return 1;
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_ip6[0] = 0;
	ctx->user_ip6[1] = 0;
	ctx->user_ip6[2] = mapped ? bpf_htonl(0xffff) : 0;
	ctx->user_ip6[3] = mapped ? bpf_htonl(0x7f000001) : bpf_htonl(1);
	ctx->user_port = bpf_htons(WEFT_OUTBOUND_PORT);
	return 1;
}

/* bpf_sock_ops.remote_port holds the network-order port in its upper half on some kernels (a 16-bit
 * shift in the context rewrite) and in its lower half on others; a port is never 0, so take the half
 * that is set. */
static __always_inline __u16 remote_port(struct bpf_sock_ops *skops)
{
	__u32 raw = skops->remote_port;
	__u16 be = (raw & 0xffff) ? (__u16)(raw & 0xffff) : (__u16)(raw >> 16);
	return bpf_ntohs(be);
}

SEC("sockops")
int weft_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		__u64 cookie = bpf_get_socket_cookie(skops);
		struct weft_addr *dst = bpf_map_lookup_elem(&weft_connecting, &cookie);
		if (!dst)
			return 1;
		struct weft_addr orig = *dst;
		struct weft_addr local = {};
		__u32 ip6[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2], skops->local_ip6[3] };
		fill(&local, skops->family, skops->local_ip4, ip6, (__u16)skops->local_port);
		if (remote_port(skops) == WEFT_INBOUND_PORT) {
			/* The proxy to its own pod (proxy_to_own_pod4): found by the inbound side as a client. */
			struct weft_flow flow = {};
			flow.peer = local;
			__u32 r6[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2], skops->remote_ip6[3] };
			fill(&flow.local, skops->family, skops->remote_ip4, r6, 0);
			bpf_map_update_elem(&weft_inbound, &flow, &orig, BPF_ANY);
		} else {
			bpf_map_update_elem(&weft_orig_dst, &local, &orig, BPF_ANY);
		}
		bpf_map_delete_elem(&weft_connecting, &cookie);
		return 1;
	}
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (skops->local_port == WEFT_OUTBOUND_PORT || skops->local_port == WEFT_INBOUND_PORT)
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		return 1;
	case BPF_SOCK_OPS_STATE_CB: {
		if (skops->args[1] != BPF_TCP_CLOSE)
			return 1;
		struct weft_flow flow = {};
		__u32 r6[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2], skops->remote_ip6[3] };
		fill(&flow.peer, skops->family, skops->remote_ip4, r6, remote_port(skops));
		if (skops->local_port == WEFT_OUTBOUND_PORT) {
			bpf_map_delete_elem(&weft_orig_dst, &flow.peer);
		} else if (skops->local_port == WEFT_INBOUND_PORT) {
			__u32 l6[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2], skops->local_ip6[3] };
			fill(&flow.local, skops->family, skops->local_ip4, l6, 0);
			bpf_map_delete_elem(&weft_inbound, &flow);
		}
		return 1;
	}
	}
	return 1;
}

SEC("cgroup/sock_release")
int weft_release(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	bpf_map_delete_elem(&weft_connecting, &cookie);
	return 1;
}

/* The original destination of a proxy socket: an outbound one by its peer (the app's local address),
 * an inbound one by its peer and local address. NULL for any other socket. */
static __always_inline struct weft_addr *original_dst(struct bpf_sock *sk)
{
	struct weft_flow flow = {};
	__u32 d6[4] = { sk->dst_ip6[0], sk->dst_ip6[1], sk->dst_ip6[2], sk->dst_ip6[3] };
	fill(&flow.peer, sk->family, sk->dst_ip4, d6, bpf_ntohs(sk->dst_port));
	if (sk->src_port == WEFT_OUTBOUND_PORT)
		return bpf_map_lookup_elem(&weft_orig_dst, &flow.peer);
	if (sk->src_port != WEFT_INBOUND_PORT)
		return 0;
	__u32 s6[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3] };
	fill(&flow.local, sk->family, sk->src_ip4, s6, 0);
	return bpf_map_lookup_elem(&weft_inbound, &flow);
}

/* Two separate 4-byte stores: clang would merge adjacent ones into one 8-byte store to the context,
 * which the verifier refuses. */
static __always_inline void answer(struct bpf_sockopt *ctx, __s32 len)
{
	ctx->optlen = len;
	asm volatile("" ::: "memory");
	ctx->retval = 0;
}

SEC("cgroup/getsockopt")
int weft_getsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->optname != WEFT_SO_ORIGINAL_DST || (ctx->level != WEFT_SOL_IP && ctx->level != WEFT_SOL_IPV6))
		return 1;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct weft_addr *dst = original_dst(sk);
	if (!dst)
		return 1; /* the kernel's own answer (ENOENT without conntrack) stands */
	if (ctx->level == WEFT_SOL_IP && dst->family == WEFT_AF_INET) {
		struct weft_sockaddr_in *sa = ctx->optval;
		if ((void *)(sa + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sa, 0, sizeof(*sa));
		sa->family = WEFT_AF_INET;
		sa->port = bpf_htons(dst->port);
		sa->addr = dst->ip[0];
		answer(ctx, sizeof(*sa));
	} else if (ctx->level == WEFT_SOL_IPV6 && dst->family == WEFT_AF_INET6) {
		struct weft_sockaddr_in6 *sa = ctx->optval;
		if ((void *)(sa + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sa, 0, sizeof(*sa));
		sa->family = WEFT_AF_INET6;
		sa->port = bpf_htons(dst->port);
		sa->addr[0] = dst->ip[0];
		sa->addr[1] = dst->ip[1];
		sa->addr[2] = dst->ip[2];
		sa->addr[3] = dst->ip[3];
		answer(ctx, sizeof(*sa));
	}
	return 1;
}

SEC("cgroup/getsockname4")
int weft_sockname4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct weft_addr *dst = original_dst(sk);
	if (dst && dst->family == WEFT_AF_INET) {
		ctx->user_ip4 = dst->ip[0];
		ctx->user_port = bpf_htons(dst->port);
	}
	return 1;
}

SEC("cgroup/getsockname6")
int weft_sockname6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct weft_addr *dst = original_dst(sk);
	if (dst && dst->family == WEFT_AF_INET6) {
		ctx->user_ip6[0] = dst->ip[0];
		ctx->user_ip6[1] = dst->ip[1];
		ctx->user_ip6[2] = dst->ip[2];
		ctx->user_ip6[3] = dst->ip[3];
		ctx->user_port = bpf_htons(dst->port);
	}
	return 1;
}


/* Where the TCP header of a packet is, and its flow as seen from the pod (peer = the remote side). */
struct weft_packet {
	struct weft_flow flow;
	__u32 tcp_off;
	__u16 sport;
	__u16 dport;
	__u8 syn_only;
};

static __always_inline int parse(struct __sk_buff *skb, struct weft_packet *p, int ingress)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return 0;
	struct tcphdr *tcp;
	__u32 zero6[4] = {};
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->protocol != WEFT_IPPROTO_TCP || ip->ihl != 5)
			return 0;
		tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > end)
			return 0;
		fill(&p->flow.peer, WEFT_AF_INET, ingress ? ip->saddr : ip->daddr, zero6, 0);
		fill(&p->flow.local, WEFT_AF_INET, ingress ? ip->daddr : ip->saddr, zero6, 0);
		p->tcp_off = sizeof(*eth) + sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->nexthdr != WEFT_IPPROTO_TCP)
			return 0;
		tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > end)
			return 0;
		__u32 s6[4] = { ip->saddr.in6_u.u6_addr32[0], ip->saddr.in6_u.u6_addr32[1], ip->saddr.in6_u.u6_addr32[2], ip->saddr.in6_u.u6_addr32[3] };
		__u32 d6[4] = { ip->daddr.in6_u.u6_addr32[0], ip->daddr.in6_u.u6_addr32[1], ip->daddr.in6_u.u6_addr32[2], ip->daddr.in6_u.u6_addr32[3] };
		fill(&p->flow.peer, WEFT_AF_INET6, 0, ingress ? s6 : d6, 0);
		fill(&p->flow.local, WEFT_AF_INET6, 0, ingress ? d6 : s6, 0);
		p->tcp_off = sizeof(*eth) + sizeof(*ip);
	} else {
		return 0;
	}
	p->sport = bpf_ntohs(tcp->source);
	p->dport = bpf_ntohs(tcp->dest);
	p->syn_only = tcp->syn && !tcp->ack;
	p->flow.peer.port = ingress ? p->sport : p->dport;
	return 1;
}

/* Rewrites one TCP port (and the checksum) in place; the packet pointers are stale afterwards. */
static __always_inline void set_port(struct __sk_buff *skb, __u32 tcp_off, __u32 field, __u16 from, __u16 to)
{
	__be16 old = bpf_htons(from), new = bpf_htons(to);
	bpf_l4_csum_replace(skb, tcp_off + offsetof(struct tcphdr, check), old, new, sizeof(new));
	bpf_skb_store_bytes(skb, tcp_off + field, &new, sizeof(new), 0);
}

SEC("tc")
int weft_tc_ingress(struct __sk_buff *skb)
{
	struct weft_packet p = {};
	if (!parse(skb, &p, 1))
		return TC_ACT_OK;
	if (p.syn_only) {
		if (!inbound_port_captured(p.dport))
			return TC_ACT_OK;
		struct weft_addr orig = p.flow.local;
		orig.port = p.dport;
		if (bpf_map_update_elem(&weft_inbound, &p.flow, &orig, BPF_ANY))
			return TC_ACT_SHOT; /* fail closed: never deliver uncaptured */
	} else {
		struct weft_addr *orig = bpf_map_lookup_elem(&weft_inbound, &p.flow);
		if (!orig || orig->port != p.dport)
			return TC_ACT_OK;
	}
	set_port(skb, p.tcp_off, offsetof(struct tcphdr, dest), p.dport, WEFT_INBOUND_PORT);
	return TC_ACT_OK;
}

SEC("tc")
int weft_tc_egress(struct __sk_buff *skb)
{
	struct weft_packet p = {};
	if (!parse(skb, &p, 0) || p.sport != WEFT_INBOUND_PORT)
		return TC_ACT_OK;
	struct weft_addr *orig = bpf_map_lookup_elem(&weft_inbound, &p.flow);
	if (!orig)
		return TC_ACT_OK;
	set_port(skb, p.tcp_off, offsetof(struct tcphdr, source), WEFT_INBOUND_PORT, orig->port);
	return TC_ACT_OK;
}

/* The kernel asks for a GPL-compatible licence string before it lets programs use some helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
