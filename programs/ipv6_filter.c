// SPDX-License-Identifier: GPL-2.0
/* ipv6_filter: pass IPv6 (ethertype 0x86dd) and drop everything else. A frame too short to hold an
 * Ethernet header is passed (it is not ours to judge). Paths: runt -> PASS, IPv6 -> PASS,
 * other ethertype -> DROP. */
#include "jitnic_xdp.h"

SEC("xdp")
int ipv6_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
