// SPDX-License-Identifier: GPL-2.0
/* tail_dispatch: a protocol dispatcher that hands each frame to a per-protocol program with
 * bpf_tail_call, the way multi-stage XDP pipelines are built. User space fills the prog_array
 * `handlers` (programs/tail_dispatch.maps.json): slot 0 holds the IPv4 handler, slot 1 the IPv6 one;
 * slot 2 (ARP) is left empty, so the tail call falls through and the dispatcher passes the frame
 * itself. The
 * handlers drop IPv4 with TTL <= 1 and IPv6 with hop limit <= 1 and pass the rest; a per-CPU array
 * counts the frames per stage (0: IPv4 handler, 1: IPv6 handler, 2: fell through, 3: not IP). */
#include "jitnic_xdp.h"

enum stage { STAGE_IPV4, STAGE_IPV6, STAGE_FALLTHROUGH, STAGE_OTHER, STAGE_MAX };
enum slot { SLOT_IPV4, SLOT_IPV6, SLOT_ARP, SLOT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, STAGE_MAX);
} stage_counts SEC(".maps");

INLINE void count(__u32 stage)
{
	__u64 *n = bpf_map_lookup_elem(&stage_counts, &stage);

	if (n)
		*n += 1;
}

SEC("xdp/ipv4")
int tail_ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);

	count(STAGE_IPV4);
	if (PAST_END(iph, sizeof(*iph), data_end))
		return XDP_DROP;
	return iph->ttl <= 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp/ipv6")
int tail_ipv6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

	count(STAGE_IPV6);
	if (PAST_END(ip6, sizeof(*ip6), data_end))
		return XDP_DROP;
	return ip6->hop_limit <= 1 ? XDP_DROP : XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SLOT_MAX);
	__type(key, __u32);
	__type(value, __u32);
} handlers SEC(".maps");

SEC("xdp")
int tail_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 slot;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		slot = SLOT_IPV4;
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		slot = SLOT_IPV6;
	else if (eth->h_proto == bpf_htons(ETH_P_ARP))
		slot = SLOT_ARP;
	else
		goto other;
	bpf_tail_call(ctx, &handlers, slot);
	count(STAGE_FALLTHROUGH); /* empty slot */
	return XDP_PASS;
other:
	count(STAGE_OTHER);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
