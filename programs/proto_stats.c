// SPDX-License-Identifier: GPL-2.0
/* proto_stats: per-protocol packet and byte counters in a per-CPU array, like the kernel's xdp1/xdp2
 * samples. The key is the IP protocol number (IPv4 protocol, or the IPv6 next header; 802.1Q-tagged
 * frames are looked through once); frames that are not IP are counted under key 255 ("reserved"),
 * runts are not counted. Every frame passes. Per-CPU values need no atomics: each CPU has its own
 * slot and user space sums them. */
#include "jitnic_xdp.h"

#define NOT_IP_KEY 255

struct proto_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct proto_count);
	__uint(max_entries, 256);
} proto_stats_map SEC(".maps");

/* The IP protocol of the frame, or NOT_IP_KEY. */
INLINE __u32 frame_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto = eth->h_proto;

	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_tag *tag = l3;

		if (PAST_END(tag, sizeof(*tag), data_end))
			return NOT_IP_KEY;
		proto = tag->inner_proto;
		l3 = tag + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;

		if (PAST_END(iph, sizeof(*iph), data_end))
			return NOT_IP_KEY;
		return iph->protocol;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if (PAST_END(ip6, sizeof(*ip6), data_end))
			return NOT_IP_KEY;
		return ip6->nexthdr;
	}
	return NOT_IP_KEY;
}

SEC("xdp")
int proto_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct proto_count *count;
	__u32 key;

	if (PAST_END(data, sizeof(struct ethhdr), data_end))
		return XDP_PASS;
	key = frame_protocol(data, data_end);
	count = bpf_map_lookup_elem(&proto_stats_map, &key);
	if (!count)
		return XDP_ABORTED; /* cannot happen: every key < 256 exists in an array */
	count->packets++;
	count->bytes += data_end - data;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
