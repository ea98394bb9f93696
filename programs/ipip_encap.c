// SPDX-License-Identifier: GPL-2.0
/* ipip_encap: an IP-in-IP (protocol 4) tunnel ingress, like the kernel's xdp_tx_iptunnel sample.
 * An IPv4 frame whose destination is a virtual IP in `vip_tunnels` gets a new outer IPv4 header in
 * front of its own: bpf_xdp_adjust_head grows the frame at the front by 20 bytes, the Ethernet
 * header is rewritten from the tunnel entry, the outer header's checksum is computed with
 * bpf_csum_diff over the 20 new bytes, and the frame goes back out (XDP_TX). Fragments of the
 * inner packet are tunnelled like any other; frames that are not IPv4 or not for a VIP pass. */
#include "jitnic_xdp.h"

#define OUTER_TTL 64

struct tunnel {
	__be32 local;                /* outer source */
	__be32 remote;               /* outer destination: the tunnel's far end */
	__u8 next_hop_mac[ETH_ALEN];
	__u8 local_mac[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);         /* inner destination (the VIP), network order */
	__type(value, struct tunnel);
	__uint(max_entries, 64);
} vip_tunnels SEC(".maps");

/* Fold a 32-bit one's-complement sum (as bpf_csum_diff returns it) into a header checksum. */
INLINE __u16 csum_finish(__s64 sum)
{
	return ~csum_fold32((__u32)sum);
}

SEC("xdp")
int ipip_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *inner = (void *)(eth + 1);
	struct tunnel *tnl;
	struct iphdr *outer;
	__be32 vip;
	__u16 inner_len;
	__s64 sum;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (PAST_END(inner, sizeof(*inner), data_end) || inner->version != 4)
		return XDP_PASS;
	vip = inner->daddr;
	tnl = bpf_map_lookup_elem(&vip_tunnels, &vip);
	if (!tnl)
		return XDP_PASS;
	inner_len = bpf_ntohs(inner->tot_len);

	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = (void *)(eth + 1);
	if (PAST_END(outer, sizeof(*outer), data_end))
		return XDP_DROP;

	__builtin_memcpy(eth->h_dest, tnl->next_hop_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tnl->local_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000); /* DF */
	outer->ttl = OUTER_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = tnl->local;
	outer->daddr = tnl->remote;
	sum = bpf_csum_diff(0, 0, (__be32 *)outer, sizeof(*outer), 0);
	outer->check = csum_finish(sum);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
