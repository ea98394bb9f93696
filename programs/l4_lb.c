// SPDX-License-Identifier: GPL-2.0
/* l4_lb: a stateless layer-4 load balancer for IPv4 TCP and UDP. The 5-tuple (source and destination
 * address, protocol, source and destination port) is hashed (xor-fold, multiply by a Fibonacci
 * constant, xor-shift) to one of four backends; the destination MAC becomes the backend's MAC, the
 * source MAC becomes the balancer's old destination MAC, the destination IP becomes the backend's IP,
 * and both the IPv4 header checksum and the TCP/UDP checksum (which covers the pseudo-header) are
 * fixed incrementally (RFC 1624). A UDP checksum of 0 ("none") stays 0; a computed UDP checksum of 0
 * is sent as 0xffff (branch-free, so traces do not depend on checksum values). The packet then leaves through XDP_TX. Everything else passes unchanged: non-IPv4,
 * IPv4 with options (IHL != 5), fragments, other protocols and packets too short for the L4 header. */
#include "jitnic_xdp.h"

#define N_BACKENDS 4

/* Backend i: MAC 02:00:00:00:01:0i, IPv4 10.10.0.(10+i). */
INLINE __u32 backend_ip(__u32 idx)
{
	return 0x0a0a000a + idx;
}

INLINE __u32 hash_tuple(__u32 saddr, __u32 daddr, __u32 ports, __u32 proto)
{
	__u32 h = saddr ^ (daddr * 31) ^ ports ^ (proto << 24);

	h ^= h >> 16;
	h *= 0x9e3779b1;
	h ^= h >> 15;
	return h >> 30; /* top two bits: one of N_BACKENDS */
}

SEC("xdp")
int l4_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__be16 *l4_check;
	__u32 idx, old_ip, new_ip, ports;
	__u16 l4;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if (PAST_END(iph, sizeof(*iph), data_end))
		return XDP_PASS;
	if (iph->version != 4 || iph->ihl != 5)
		return XDP_PASS;
	if (iph->frag_off & bpf_htons(IP_MF_FLAG | IP_OFFSET_MASK))
		return XDP_PASS;

	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(iph + 1);

		if (PAST_END(tcp, sizeof(*tcp), data_end))
			return XDP_PASS;
		ports = ((__u32)bpf_ntohs(tcp->source) << 16) | bpf_ntohs(tcp->dest);
		l4_check = &tcp->check;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(iph + 1);

		if (PAST_END(udp, sizeof(*udp), data_end))
			return XDP_PASS;
		ports = ((__u32)bpf_ntohs(udp->source) << 16) | bpf_ntohs(udp->dest);
		l4_check = &udp->check;
	} else {
		return XDP_PASS;
	}

	old_ip = bpf_ntohl(iph->daddr);
	idx = hash_tuple(bpf_ntohl(iph->saddr), old_ip, ports, iph->protocol);
	new_ip = backend_ip(idx);

	iph->daddr = bpf_htonl(new_ip);
	iph->check = bpf_htons(csum_replace32(bpf_ntohs(iph->check), old_ip, new_ip));

	l4 = bpf_ntohs(*l4_check);
	if (iph->protocol == IPPROTO_TCP || l4 != 0) {
		__u32 sum = csum_replace32(l4, old_ip, new_ip);

		/* A computed UDP checksum of 0 is sent as 0xffff. Branch-free on purpose: (sum - 1) >> 16
		 * is 0xffff only for sum == 0, so no branch depends on the packet's checksum (only on
		 * the protocol) and one NIC trace serves every flow of a protocol. */
		if (iph->protocol == IPPROTO_UDP)
			sum += ((sum - 1) >> 16) & 0xffff;
		*l4_check = bpf_htons((__u16)sum);
	}

	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	eth->h_dest[0] = 0x02;
	eth->h_dest[1] = 0x00;
	eth->h_dest[2] = 0x00;
	eth->h_dest[3] = 0x00;
	eth->h_dest[4] = 0x01;
	eth->h_dest[5] = (__u8)idx;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
