// SPDX-License-Identifier: GPL-2.0
/* mac_swap_tx: reflect every frame back out of the port it came in on: swap the destination and
 * source MAC addresses and return XDP_TX. A runt shorter than an Ethernet header (14 bytes) is
 * passed unchanged. Paths: runt -> PASS, otherwise swap -> TX. */
#include "jitnic_xdp.h"

SEC("xdp")
int mac_swap_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	swap_macs(eth);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
