/* SPDX-License-Identifier: GPL-2.0 */
/* Frames moved at both ends and handed to the host (XDP_PASS), for the end-to-end bench of the
 * RTL's adjust_head/tail (tb/e2e/test_e2e_adjust.py): the host queue's side of the egress offset.
 * IPv4: a 6-byte tag pushed in front (the frame leaves from byte 58 of its buffer: not a bus-word
 * boundary). IPv6: 3 bytes cut from the tail and 2 from the head (byte 66). Anything else goes
 * back out unchanged (XDP_TX). */
#include "jitnic_xdp.h"

SEC("xdp")
int adjust_pass(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 *tag;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (bpf_xdp_adjust_head(ctx, -6))
			return XDP_DROP;
		tag = (void *)(long)ctx->data;
		if (PAST_END(tag, 6, (void *)(long)ctx->data_end))
			return XDP_DROP;
		tag[0] = 0x7a;
		tag[1] = 0x61;
		tag[2] = 0x67;
		tag[5] = tag[8] ^ tag[9];      /* bytes 3 and 4 stay as the margin had them: zero */
		return XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (bpf_xdp_adjust_tail(ctx, -3) || bpf_xdp_adjust_head(ctx, 2))
			return XDP_DROP;
		return XDP_PASS;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
