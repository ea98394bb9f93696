// SPDX-License-Identifier: GPL-2.0
/* parser_classifier: a header parser that classifies each frame to an XDP action.
 *
 * Parses Ethernet, up to two VLAN tags (802.1Q 0x8100; QinQ with an 802.1ad 0x88a8 or 0x8100 outer
 * tag), IPv4 with options (the L4 header starts IHL * 4 bytes in: a variable offset), IPv6 (fixed
 * header; extension headers are not followed), TCP, UDP, ICMP and ICMPv6. Classes:
 *   malformed or truncated (runt, short VLAN tag, short IP/L4 header, IHL < 5,
 *     IP version mismatch, more than two VLAN tags)              -> DROP
 *   outer VLAN ID 4095 (reserved)                                -> DROP
 *   ARP                                                          -> PASS
 *   LLDP (0x88cc)                                                -> DROP
 *   other ethertypes                                             -> PASS
 *   IPv4 with a source-route option first (LSRR 0x83, SSRR 0x89) -> DROP
 *   IPv4 non-first fragment                                      -> PASS (no L4 header)
 *   TCP: null scan (no flags), SYN+FIN, destination port 23      -> DROP; other TCP -> PASS
 *   UDP: destination port 7 (echo)                               -> TX (reflected as is)
 *        traceroute ports 33434-33534                            -> DROP; other UDP -> PASS
 *   ICMP: echo request                                           -> TX
 *         timestamp (13) and address-mask (17) requests          -> DROP; other ICMP -> PASS
 *   ICMPv6: echo request (128)                                   -> TX
 *           redirect (137)                                       -> DROP; other ICMPv6 -> PASS
 *   other IP protocols                                           -> PASS */
#include "jitnic_xdp.h"

#define VLAN_VID_MASK 0x0fff
#define VLAN_VID_RESERVED 0x0fff
#define ICMP_ADDRESS 17
#define ICMPV6_REDIRECT 137
#define TRACEROUTE_LO 33434
#define TRACEROUTE_HI 33534

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02

INLINE int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* TCP, UDP, ICMP, ICMPv6 classification; `l4` points at the L4 header. */
INLINE int classify_l4(__u8 proto, void *l4, void *data_end)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		__u8 flags;

		if (PAST_END(tcp, sizeof(*tcp), data_end))
			return XDP_DROP;
		flags = ((__u8 *)tcp)[13];
		if (flags == 0)
			return XDP_DROP;
		if ((flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) == (TCP_FLAG_SYN | TCP_FLAG_FIN))
			return XDP_DROP;
		if (tcp->dest == bpf_htons(23))
			return XDP_DROP;
		return XDP_PASS;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		__u16 dport;

		if (PAST_END(udp, sizeof(*udp), data_end))
			return XDP_DROP;
		dport = bpf_ntohs(udp->dest);
		if (dport == 7)
			return XDP_TX;
		if (dport >= TRACEROUTE_LO && dport <= TRACEROUTE_HI)
			return XDP_DROP;
		return XDP_PASS;
	}
	if (proto == IPPROTO_ICMP) {
		struct icmp4hdr *icmp = l4;

		if (PAST_END(icmp, 4, data_end))
			return XDP_DROP;
		if (icmp->type == ICMP_ECHO)
			return XDP_TX;
		if (icmp->type == ICMP_TIMESTAMP || icmp->type == ICMP_ADDRESS)
			return XDP_DROP;
		return XDP_PASS;
	}
	if (proto == IPPROTO_ICMPV6) {
		struct icmp6hdr *icmp6 = l4;

		if (PAST_END(icmp6, 4, data_end))
			return XDP_DROP;
		if (icmp6->icmp6_type == ICMPV6_ECHO_REQUEST)
			return XDP_TX;
		if (icmp6->icmp6_type == ICMPV6_REDIRECT)
			return XDP_DROP;
		return XDP_PASS;
	}
	return XDP_PASS;
}

INLINE int classify_ipv4(struct iphdr *iph, void *data_end)
{
	__u32 hlen;
	__u8 *opt;

	if (PAST_END(iph, sizeof(*iph), data_end))
		return XDP_DROP;
	if (iph->version != 4 || iph->ihl < 5)
		return XDP_DROP;
	hlen = iph->ihl * 4;
	if (PAST_END(iph, hlen, data_end))
		return XDP_DROP;
	if (hlen > sizeof(*iph)) {
		opt = (__u8 *)(iph + 1);
		if (PAST_END(opt, 1, data_end))
			return XDP_DROP;
		if (*opt == IPOPT_LSRR || *opt == IPOPT_SSRR)
			return XDP_DROP;
	}
	if (iph->frag_off & bpf_htons(IP_OFFSET_MASK))
		return XDP_PASS;
	if (iph->protocol == IPPROTO_ICMPV6)
		return XDP_PASS; /* ICMPv6 inside IPv4 is not ours to classify */
	return classify_l4(iph->protocol, (void *)iph + hlen, data_end);
}

INLINE int classify_ipv6(struct ipv6hdr *ip6, void *data_end)
{
	if (PAST_END(ip6, sizeof(*ip6), data_end))
		return XDP_DROP;
	if (ip6->version != 6)
		return XDP_DROP;
	if (ip6->nexthdr == IPPROTO_ICMP)
		return XDP_PASS; /* ICMPv4 inside IPv6 is not ours to classify */
	return classify_l4(ip6->nexthdr, ip6 + 1, data_end);
}

SEC("xdp")
int parser_classifier(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	void *l3;
	__be16 proto;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_DROP;
	proto = eth->h_proto;
	l3 = eth + 1;

	if (is_vlan(proto)) {
		tag = l3;
		if (PAST_END(tag, sizeof(*tag), data_end))
			return XDP_DROP;
		if ((bpf_ntohs(tag->tci) & VLAN_VID_MASK) == VLAN_VID_RESERVED)
			return XDP_DROP;
		proto = tag->inner_proto;
		l3 = tag + 1;
		if (proto == bpf_htons(ETH_P_8021Q)) {
			tag = l3;
			if (PAST_END(tag, sizeof(*tag), data_end))
				return XDP_DROP;
			proto = tag->inner_proto;
			l3 = tag + 1;
		}
		if (is_vlan(proto))
			return XDP_DROP; /* more than two tags */
	}

	if (proto == bpf_htons(ETH_P_IP))
		return classify_ipv4(l3, data_end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return classify_ipv6(l3, data_end);
	if (proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	if (proto == bpf_htons(ETH_P_LLDP))
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
