// SPDX-License-Identifier: GPL-2.0
/* land_filter: drop IPv4 TCP and UDP frames that relate fields to each other the way reflection
 * and LAND attacks do -- source address equal to destination address, or source port equal to
 * destination port -- and frames whose IPv4 total length disagrees with the frame (a sum of
 * header fields and the length); pass everything else. A stateless program whose conditions are
 * relations between fields: before guards each frame pinned its own addresses and ports (one
 * trace per flow); with guards one trace serves every frame of a protocol (docs/tracing.md).
 * Paths: runt / not IPv4 -> PASS, IPv4 other protocol -> PASS, TCP/UDP -> DROP or PASS. */
#include "jitnic_xdp.h"

SEC("xdp")
int land_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u16 *ports;

	if (PAST_END(ip, sizeof(*ip), data_end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	/* the IPv4 packet must fit the frame: total length + Ethernet header <= frame length */
	if (data + sizeof(*eth) + bpf_ntohs(ip->tot_len) > data_end)
		return XDP_DROP;
	if (ip->saddr == ip->daddr)
		return XDP_DROP;
	ports = (void *)(ip + 1);
	if (PAST_END(ports, 4, data_end))
		return XDP_PASS;
	if (ports[0] == ports[1])
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
