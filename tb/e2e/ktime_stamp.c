/* SPDX-License-Identifier: GPL-2.0 */
/* A receive-time stamper: IPv4 frames get the low 48 bits of bpf_ktime_get_ns() (the frame's
 * capture time under jitnic) in their source MAC address, little-endian, and go back out
 * (XDP_TX); other frames pass. The end-to-end bench of the RTL's ktime_get_ns and of the
 * per-frame rx_timestamp (tb/e2e/test_e2e_helpers.py). */
#include "jitnic_xdp.h"

SEC("xdp")
int ktime_stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 now;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	now = bpf_ktime_get_ns();
	__builtin_memcpy(eth->h_source, &now, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
