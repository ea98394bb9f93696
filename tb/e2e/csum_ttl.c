/* SPDX-License-Identifier: GPL-2.0 */
/* A router's TTL decrement with the header checksum updated by bpf_csum_diff (RFC 1624 eqn. 3
 * over the whole header: ~old checksum, the header as it was (a copy on the stack, `from`) and as
 * it is (the packet, `to`)); the frame goes back out (XDP_TX). Frames that are not IPv4 with a
 * 20-byte header and a TTL above 1 pass. The end-to-end bench of the RTL's csum_diff
 * (tb/e2e/test_e2e_helpers.py): every routed frame's path calls the helper, no other. */
#include "jitnic_xdp.h"

SEC("xdp")
int csum_ttl(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	__u32 old[5];
	__u16 check;
	__s64 sum;

	if (PAST_END(iph, sizeof(*iph), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (iph->ihl != 5 || iph->ttl <= 1)
		return XDP_PASS;
	__builtin_memcpy(old, iph, sizeof(old));
	check = iph->check;
	((struct iphdr *)old)->check = 0;
	iph->check = 0;
	iph->ttl--;
	sum = bpf_csum_diff(old, sizeof(old), (__be32 *)iph, sizeof(*iph), (__u16)~check);
	iph->check = ~csum_fold32((__u32)sum);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
