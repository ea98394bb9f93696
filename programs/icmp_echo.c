// SPDX-License-Identifier: GPL-2.0
/* icmp_echo: answer pings in place. An IPv4 ICMP echo request (type 8, code 0; 20-byte IPv4 header
 * without options, not a fragment, 8-byte ICMP echo header present) becomes an echo reply: MACs
 * swapped, IPv4 source and destination swapped (the IP header checksum is invariant under that swap),
 * type set to 0 and the ICMP checksum fixed incrementally (RFC 1624); then XDP_TX. An ICMPv6 echo
 * request (type 128, code 0, ICMPv6 directly after the fixed IPv6 header) likewise becomes an echo
 * reply (type 129; the pseudo-header sum is invariant under the address swap). Everything else,
 * including echo replies, other ICMP types, IPv4 with options and runts, is passed unchanged. */
#include "jitnic_xdp.h"

INLINE int echo_v4(struct ethhdr *eth, void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct icmp4hdr *icmp;
	__be32 addr;
	__u16 old_word;

	if (PAST_END(iph, sizeof(*iph), data_end))
		return XDP_PASS;
	if (iph->version != 4 || iph->ihl != 5 || iph->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	if (iph->frag_off & bpf_htons(IP_MF_FLAG | IP_OFFSET_MASK))
		return XDP_PASS;
	icmp = (void *)(iph + 1);
	if (PAST_END(icmp, sizeof(*icmp), data_end))
		return XDP_PASS;
	if (icmp->type != ICMP_ECHO || icmp->code != 0)
		return XDP_PASS;

	old_word = (__u16)(ICMP_ECHO << 8);
	icmp->type = ICMP_ECHOREPLY;
	icmp->checksum = bpf_htons(csum_replace16(bpf_ntohs(icmp->checksum), old_word,
						  (__u16)(ICMP_ECHOREPLY << 8)));
	addr = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	swap_macs(eth);
	return XDP_TX;
}

INLINE int echo_v6(struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct icmp6hdr *icmp6;
	struct in6_addr addr;
	__u16 old_word;

	if (PAST_END(ip6, sizeof(*ip6), data_end))
		return XDP_PASS;
	if (ip6->version != 6 || ip6->nexthdr != IPPROTO_ICMPV6)
		return XDP_PASS;
	icmp6 = (void *)(ip6 + 1);
	if (PAST_END(icmp6, sizeof(*icmp6), data_end))
		return XDP_PASS;
	if (icmp6->icmp6_type != ICMPV6_ECHO_REQUEST || icmp6->icmp6_code != 0)
		return XDP_PASS;

	old_word = (__u16)(ICMPV6_ECHO_REQUEST << 8);
	icmp6->icmp6_type = ICMPV6_ECHO_REPLY;
	icmp6->icmp6_cksum = bpf_htons(csum_replace16(bpf_ntohs(icmp6->icmp6_cksum), old_word,
						      (__u16)(ICMPV6_ECHO_REPLY << 8)));
	addr = ip6->saddr;
	ip6->saddr = ip6->daddr;
	ip6->daddr = addr;
	swap_macs(eth);
	return XDP_TX;
}

SEC("xdp")
int icmp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return echo_v4(eth, data_end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return echo_v6(eth, data_end);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
