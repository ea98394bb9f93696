// SPDX-License-Identifier: GPL-2.0
/* lpm_router: an IPv4 router with its routing table in an LPM trie. The longest prefix matching the
 * destination gives the egress port and the next hop's MAC; the router decrements the TTL (fixing
 * the header checksum incrementally), rewrites both MACs and redirects the frame through a devmap
 * (port -> ifindex). Frames the router does not forward go to the host stack (XDP_PASS): non-IPv4,
 * malformed headers, TTL <= 1 (the stack answers with ICMP time exceeded), no route. A port missing
 * from the devmap also passes (the low bits of bpf_redirect_map's flags are its miss action). */
#include "jitnic_xdp.h"

#define MAX_PORTS 8

struct route_key {
	__u32 prefixlen;             /* LPM trie keys start with the prefix length */
	__u8 addr[4];                /* IPv4 destination, network order */
};

struct route {
	__u32 port;                  /* key into tx_ports */
	__u8 next_hop_mac[ETH_ALEN];
	__u8 port_mac[ETH_ALEN];     /* our MAC on that port: the new source MAC */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct route_key);
	__type(value, struct route);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);        /* ifindex */
	__uint(max_entries, MAX_PORTS);
} tx_ports SEC(".maps");

SEC("xdp")
int lpm_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct route_key key = { .prefixlen = 32 };
	struct route *rt;
	__u16 old_word, new_word;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (PAST_END(iph, sizeof(*iph), data_end) || iph->version != 4 || iph->ihl < 5)
		return XDP_PASS;
	if (iph->ttl <= 1)
		return XDP_PASS;
	__builtin_memcpy(key.addr, &iph->daddr, sizeof(key.addr));
	rt = bpf_map_lookup_elem(&routes, &key);
	if (!rt)
		return XDP_PASS;

	old_word = ((__u16)iph->ttl << 8) | iph->protocol;
	iph->ttl--;
	new_word = ((__u16)iph->ttl << 8) | iph->protocol;
	iph->check = bpf_htons(csum_replace16(bpf_ntohs(iph->check), old_word, new_word));
	__builtin_memcpy(eth->h_dest, rt->next_hop_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, rt->port_mac, ETH_ALEN);
	return bpf_redirect_map(&tx_ports, rt->port, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
