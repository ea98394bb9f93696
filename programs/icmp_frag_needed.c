// SPDX-License-Identifier: GPL-2.0
/* icmp_frag_needed: path-MTU discovery at the edge of a link with a small MTU, like the kernel's
 * xdp_adjust_tail sample. An IPv4 frame (no options) with Don't Fragment set whose IP packet is
 * larger than LINK_MTU cannot be forwarded; instead of passing it the program turns it into the ICMP
 * "destination unreachable, fragmentation needed" answer (type 3, code 4, RFC 792/1191) and sends it
 * back (XDP_TX): bpf_xdp_adjust_tail cuts the frame after the original IP header and 8 payload bytes,
 * bpf_xdp_adjust_head makes room in front for the new IP and ICMP headers, and both checksums are
 * computed with bpf_csum_diff. Every other frame passes unchanged. */
#include "jitnic_xdp.h"

#define LINK_MTU 1000
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define IP_DF_FLAG 0x4000
#define ORIG_BYTES (sizeof(struct iphdr) + 8)        /* quoted: original header + 8 bytes */
#define ICMP_LEN (sizeof(struct icmp4hdr) + ORIG_BYTES)
#define REPLY_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + ICMP_LEN)

/* Fold a 32-bit one's-complement sum (as bpf_csum_diff returns it) into a header checksum. */
INLINE __u16 csum_finish(__s64 sum)
{
	return ~csum_fold32((__u32)sum);
}

SEC("xdp")
int icmp_frag_needed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u8 peer_mac[ETH_ALEN], our_mac[ETH_ALEN];
	struct icmp4hdr *icmp;
	__be32 peer, us;
	int frame_len;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (PAST_END(iph, sizeof(*iph), data_end) || iph->version != 4 || iph->ihl != 5)
		return XDP_PASS;
	if (!(iph->frag_off & bpf_htons(IP_DF_FLAG)) || bpf_ntohs(iph->tot_len) <= LINK_MTU)
		return XDP_PASS;
	frame_len = data_end - data;
	if (frame_len < (int)(sizeof(struct ethhdr) + ORIG_BYTES))
		return XDP_PASS; /* truncated: tot_len lies */

	__builtin_memcpy(peer_mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
	peer = iph->saddr;
	us = iph->daddr;

	/* Keep Ethernet + original IP header + 8 bytes, then prepend IP + ICMP headers: the original
	 * Ethernet header's bytes become the new headers' space. */
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(struct ethhdr) + ORIG_BYTES) - frame_len))
		return XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, 0 - (int)(sizeof(struct iphdr) + sizeof(struct icmp4hdr))))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (PAST_END(data, REPLY_LEN, data_end))
		return XDP_DROP;
	eth = data;
	iph = (void *)(eth + 1);
	icmp = (void *)(iph + 1);

	__builtin_memcpy(eth->h_dest, peer_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->id = 0;                      /* "unused" */
	icmp->sequence = bpf_htons(LINK_MTU); /* next-hop MTU */
	icmp->checksum = csum_finish(bpf_csum_diff(0, 0, (__be32 *)icmp, ICMP_LEN, 0));

	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(sizeof(struct iphdr) + ICMP_LEN);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = us;
	iph->daddr = peer;
	iph->check = csum_finish(bpf_csum_diff(0, 0, (__be32 *)iph, sizeof(*iph), 0));
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
