// SPDX-License-Identifier: GPL-2.0
/* acl_firewall: a stateless 5-tuple access-control list over IPv4 and IPv6, TCP and UDP.
 *
 * Each rule matches a source prefix, a destination prefix, a protocol (0 = any) and source and
 * destination port ranges; the first matching rule decides (XDP_PASS or XDP_DROP); when none matches
 * the default action, XDP_DROP, applies. The rules are compiled into code (one inlined comparison
 * chain per rule), not kept in a table: the program uses no maps and no global data.
 *
 * Key extraction: non-IP ethertypes and runts (< 14 bytes) pass (this is an IP firewall; note that
 * VLAN-tagged frames are therefore not filtered). IPv4: a header shorter than 20 bytes, version != 4
 * or IHL < 5 drops (malformed); IHL > 5 drops (policy: no IP options). A non-first fragment has no
 * ports (they count as 0). IPv6: a truncated header or version != 6 drops; the next-header field is
 * taken as the protocol (extension headers are not followed). TCP and UDP need at least the 4 port
 * bytes, else drop; other protocols have ports 0. */
#include "jitnic_xdp.h"

#define DEFAULT_ACTION XDP_DROP

struct flow_key {
	__u32 family;  /* 4 or 6 */
	__u32 src[4];  /* address words, host order; IPv4 uses word 0 */
	__u32 dst[4];
	__u32 proto;
	__u32 sport;
	__u32 dport;
};

#define IP4(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))
#define ANY4 0, 0
#define ANY6 0, 0, 0, 0, 0
#define ANY_PORT 0, 65535
#define PORT(p) (p), (p)

/* Mask of the first `len` bits of a 32-bit word (len may be <= 0 or >= 32). */
INLINE __u32 prefix_mask(int len)
{
	if (len <= 0)
		return 0;
	if (len >= 32)
		return 0xffffffff;
	return 0xffffffff << (32 - len);
}

INLINE int ports_match(const struct flow_key *k, __u32 sp_lo, __u32 sp_hi, __u32 dp_lo, __u32 dp_hi)
{
	return k->sport >= sp_lo && k->sport <= sp_hi && k->dport >= dp_lo && k->dport <= dp_hi;
}

INLINE int match4(const struct flow_key *k, __u32 src, int src_len, __u32 dst, int dst_len,
		  __u32 proto, __u32 sp_lo, __u32 sp_hi, __u32 dp_lo, __u32 dp_hi)
{
	if (k->family != 4)
		return 0;
	if ((k->src[0] ^ src) & prefix_mask(src_len))
		return 0;
	if ((k->dst[0] ^ dst) & prefix_mask(dst_len))
		return 0;
	if (proto && k->proto != proto)
		return 0;
	return ports_match(k, sp_lo, sp_hi, dp_lo, dp_hi);
}

/* IPv6 prefix given as four host-order words and a length. */
INLINE int prefix6_match(const __u32 *addr, __u32 w0, __u32 w1, __u32 w2, __u32 w3, int len)
{
	if ((addr[0] ^ w0) & prefix_mask(len))
		return 0;
	if ((addr[1] ^ w1) & prefix_mask(len - 32))
		return 0;
	if ((addr[2] ^ w2) & prefix_mask(len - 64))
		return 0;
	if ((addr[3] ^ w3) & prefix_mask(len - 96))
		return 0;
	return 1;
}

INLINE int match6(const struct flow_key *k,
		  __u32 s0, __u32 s1, __u32 s2, __u32 s3, int src_len,
		  __u32 d0, __u32 d1, __u32 d2, __u32 d3, int dst_len,
		  __u32 proto, __u32 sp_lo, __u32 sp_hi, __u32 dp_lo, __u32 dp_hi)
{
	if (k->family != 6)
		return 0;
	if (!prefix6_match(k->src, s0, s1, s2, s3, src_len))
		return 0;
	if (!prefix6_match(k->dst, d0, d1, d2, d3, dst_len))
		return 0;
	if (proto && k->proto != proto)
		return 0;
	return ports_match(k, sp_lo, sp_hi, dp_lo, dp_hi);
}

#define RULE4(action, ...)              \
	do {                            \
		if (match4(k, __VA_ARGS__)) \
			return (action);    \
	} while (0)
#define RULE6(action, ...)              \
	do {                            \
		if (match6(k, __VA_ARGS__)) \
			return (action);    \
	} while (0)

/* The rule list, first match wins. Documented in docs/programs.md. */
INLINE int acl_decide(const struct flow_key *k)
{
	/*     action    src prefix                     dst prefix                proto            sport range   dport range */
	RULE4(XDP_PASS, IP4(192, 168, 0, 0), 16,        ANY4,                     IPPROTO_TCP,     ANY_PORT,     PORT(22));
	RULE4(XDP_DROP, ANY4,                           ANY4,                     IPPROTO_TCP,     ANY_PORT,     PORT(22));
	RULE4(XDP_DROP, IP4(203, 0, 113, 0), 24,        ANY4,                     0,               ANY_PORT,     ANY_PORT);
	RULE4(XDP_PASS, ANY4,                           IP4(10, 0, 0, 0), 8,      IPPROTO_UDP,     ANY_PORT,     PORT(53));
	RULE4(XDP_PASS, ANY4,                           IP4(10, 1, 0, 0), 16,     IPPROTO_TCP,     ANY_PORT,     80, 443);
	RULE4(XDP_DROP, ANY4,                           ANY4,                     IPPROTO_UDP,     1024, 65535,  6000, 6999);
	RULE4(XDP_PASS, IP4(10, 0, 0, 0), 8,            ANY4,                     IPPROTO_UDP,     ANY_PORT,     1024, 65535);
	RULE4(XDP_PASS, ANY4,                           IP4(198, 51, 100, 7), 32, IPPROTO_TCP,     1024, 65535,  8000, 8080);
	RULE4(XDP_PASS, ANY4,                           ANY4,                     IPPROTO_ICMP,    ANY_PORT,     ANY_PORT);
	/* 2001:db8::/32 -> TCP 443 */
	RULE6(XDP_PASS, 0x20010db8, 0, 0, 0, 32,        ANY6,                     IPPROTO_TCP,     ANY_PORT,     PORT(443));
	/* link-local fe80::/10 -> DHCPv6 (546-547) */
	RULE6(XDP_PASS, 0xfe800000, 0, 0, 0, 10,        ANY6,                     IPPROTO_UDP,     ANY_PORT,     546, 547);
	/* anything to 2001:db8:bad::/48 */
	RULE6(XDP_DROP, ANY6,                           0x20010db8, 0x0bad0000, 0, 0, 48, 0,       ANY_PORT,     ANY_PORT);
	/* 2001:db8:1::/64 -> 2001:db8:2::1/128 UDP 5000-5999 */
	RULE6(XDP_PASS, 0x20010db8, 0x00010000, 0, 0, 64, 0x20010db8, 0x00020000, 0, 1, 128,
	      IPPROTO_UDP, ANY_PORT, 5000, 5999);
	RULE6(XDP_DROP, ANY6,                           ANY6,                     IPPROTO_TCP,     ANY_PORT,     0, 1023);
	RULE6(XDP_PASS, ANY6,                           ANY6,                     IPPROTO_ICMPV6,  ANY_PORT,     ANY_PORT);
	RULE6(XDP_PASS, ANY6,                           ANY6,                     IPPROTO_UDP,     1024, 65535,  1024, 65535);
	return DEFAULT_ACTION;
}

/* Fill the ports of `k` from the L4 header at `l4`; 0 = ok, -1 = truncated. */
INLINE int load_ports(struct flow_key *k, void *l4, void *data_end)
{
	struct udphdr *ports = l4; /* TCP and UDP both start with source and destination port */

	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return 0;
	if (PAST_END(ports, 4, data_end))
		return -1;
	k->sport = bpf_ntohs(ports->source);
	k->dport = bpf_ntohs(ports->dest);
	return 0;
}

SEC("xdp")
int acl_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key key = {};
	struct flow_key *k = &key;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if (PAST_END(iph, sizeof(*iph), data_end))
			return XDP_DROP;
		if (iph->version != 4 || iph->ihl != 5)
			return XDP_DROP;
		k->family = 4;
		k->src[0] = bpf_ntohl(iph->saddr);
		k->dst[0] = bpf_ntohl(iph->daddr);
		k->proto = iph->protocol;
		if (!(iph->frag_off & bpf_htons(IP_OFFSET_MASK)) && load_ports(k, iph + 1, data_end))
			return XDP_DROP;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if (PAST_END(ip6, sizeof(*ip6), data_end))
			return XDP_DROP;
		if (ip6->version != 6)
			return XDP_DROP;
		k->family = 6;
		k->src[0] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[0]);
		k->src[1] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[1]);
		k->src[2] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[2]);
		k->src[3] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[3]);
		k->dst[0] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[0]);
		k->dst[1] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[1]);
		k->dst[2] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[2]);
		k->dst[3] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[3]);
		k->proto = ip6->nexthdr;
		if (load_ports(k, ip6 + 1, data_end))
			return XDP_DROP;
	} else {
		return XDP_PASS;
	}
	return acl_decide(k);
}

char _license[] SEC("license") = "GPL";
