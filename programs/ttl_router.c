// SPDX-License-Identifier: GPL-2.0
/* ttl_router: the forwarding step of an IPv4 router. For an IPv4 packet (ethertype 0x0800, version 4,
 * IHL >= 5, full 20-byte header present) it drops the packet when TTL <= 1 and otherwise decrements
 * the TTL and fixes the header checksum incrementally (RFC 1624 eqn. 3, on the TTL/protocol word),
 * then passes it on. Non-IPv4 frames, runts and IPv4 frames too short or malformed (version != 4,
 * IHL < 5) are passed unchanged. */
#include "jitnic_xdp.h"

SEC("xdp")
int ttl_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u16 old_word, new_word;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if (PAST_END(iph, sizeof(*iph), data_end))
		return XDP_PASS;
	if (iph->version != 4 || iph->ihl < 5)
		return XDP_PASS;
	if (iph->ttl <= 1)
		return XDP_DROP;

	/* TTL is the high byte of the 16-bit word at offset 8 (TTL, protocol). */
	old_word = ((__u16)iph->ttl << 8) | iph->protocol;
	iph->ttl--;
	new_word = ((__u16)iph->ttl << 8) | iph->protocol;
	iph->check = bpf_htons(csum_replace16(bpf_ntohs(iph->check), old_word, new_word));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
