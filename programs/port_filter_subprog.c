// SPDX-License-Identifier: GPL-2.0
/* port_filter_subprog: drops TCP and UDP traffic to the Windows file-sharing and remote-shell ports
 * (23, 135-139, 445, 3389), with the parsing and the policy in two __noinline subprograms, which
 * clang keeps as real BPF-to-BPF calls into .text (the verifier checks them as functions of their
 * own). l4_offset() finds the L4 header of IPv4 (options included) and IPv6 frames and the protocol;
 * port_denied() is the policy. A per-CPU array counts drops per protocol (key 0: TCP, 1: UDP). */
#include "jitnic_xdp.h"

#define MAX_L4_OFFSET (sizeof(struct ethhdr) + 60)  /* IPv4 header with the most options */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} port_drops SEC(".maps");

/* Offset of the L4 header from the frame start, its protocol in *proto; -1 if there is none. */
static __noinline int l4_offset(void *data, void *data_end, __u8 *proto)
{
	struct ethhdr *eth = data;

	if (PAST_END(eth, sizeof(*eth), data_end))
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if (PAST_END(iph, sizeof(*iph), data_end) || iph->ihl < 5)
			return -1;
		if (iph->frag_off & bpf_htons(IP_OFFSET_MASK))
			return -1; /* a later fragment has no L4 header */
		*proto = iph->protocol;
		return sizeof(*eth) + iph->ihl * 4;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if (PAST_END(ip6, sizeof(*ip6), data_end))
			return -1;
		*proto = ip6->nexthdr;
		return sizeof(*eth) + sizeof(*ip6);
	}
	return -1;
}

static __noinline int port_denied(__u16 port)
{
	switch (port) {
	case 23:
	case 135 ... 139:
	case 445:
	case 3389:
		return 1;
	default:
		return 0;
	}
}

SEC("xdp")
int port_filter_subprog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *ports;
	__u8 proto = 0;
	__u32 key;
	__u64 *drops;
	int off;

	off = l4_offset(data, data_end, &proto);
	if (off < 0 || off > MAX_L4_OFFSET)
		return XDP_PASS;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return XDP_PASS;
	ports = data + off;
	if (PAST_END(ports, 4, data_end))
		return XDP_PASS;
	if (!port_denied(bpf_ntohs(ports->dest)))
		return XDP_PASS;
	key = proto == IPPROTO_TCP ? 0 : 1;
	drops = bpf_map_lookup_elem(&port_drops, &key);
	if (drops)
		*drops += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
