// SPDX-License-Identifier: GPL-2.0
/* config_filter: a filter configured through global variables, the way libbpf skeletons configure
 * programs. The `const volatile` settings live in .rodata, which the loader fills before loading
 * and then freezes (so the verifier knows their values); the counters live in .bss (zeroed at load)
 * and are bumped atomically because every CPU shares them. Drops: frames longer than
 * max_frame_len, TCP/UDP to blocked_port (0: none), ICMP/ICMPv6 when allow_icmp is 0. */
#include "jitnic_xdp.h"

const volatile __u32 max_frame_len = 1514;
const volatile __u16 blocked_port = 23;
const volatile __u8 allow_icmp = 1;

__u64 frames_passed;
__u64 dropped_too_long;
__u64 dropped_port;
__u64 dropped_icmp;

INLINE int drop(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
	return XDP_DROP;
}

/* The IP protocol and the offset of the L4 header, or 0 for frames that are not plain IP. */
INLINE __u8 l4_of(void *data, void *data_end, void **l4)
{
	struct ethhdr *eth = data;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if (PAST_END(iph, sizeof(*iph), data_end) || iph->ihl < 5)
			return 0;
		*l4 = (void *)iph + iph->ihl * 4;
		return iph->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if (PAST_END(ip6, sizeof(*ip6), data_end))
			return 0;
		*l4 = ip6 + 1;
		return ip6->nexthdr;
	}
	return 0;
}

SEC("xdp")
int config_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l4 = data;
	__u8 proto;

	if (data_end - data > max_frame_len)
		return drop(&dropped_too_long);
	if (PAST_END(data, sizeof(struct ethhdr), data_end))
		goto pass;
	proto = l4_of(data, data_end, &l4);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		struct udphdr *ports = l4; /* source and destination port lead both headers */

		if (PAST_END(ports, 4, data_end))
			goto pass;
		if (blocked_port && ports->dest == bpf_htons(blocked_port))
			return drop(&dropped_port);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		if (!allow_icmp)
			return drop(&dropped_icmp);
	}
pass:
	__sync_fetch_and_add(&frames_passed, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
