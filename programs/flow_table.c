// SPDX-License-Identifier: GPL-2.0
/* flow_table: a connection table of IPv4 TCP and UDP flows in a hash map. A packet of a known flow
 * counts into its entry (atomic adds); the first packet of a new flow inserts it with
 * bpf_map_update_elem(BPF_NOEXIST), and a full table drops the packet; a TCP FIN or RST deletes the
 * flow with bpf_map_delete_elem. A per-CPU array counts what happened (key 0: new flows, 1: closed,
 * 2: closes of unknown flows, 3: table full). Everything that is not IPv4 TCP/UDP passes. */
#include "jitnic_xdp.h"

enum event { EV_NEW, EV_CLOSED, EV_CLOSE_UNKNOWN, EV_FULL, EV_MAX };

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 proto;
};

struct flow_val {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
	__uint(max_entries, 32);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, EV_MAX);
} events SEC(".maps");

INLINE void count_event(__u32 ev)
{
	__u64 *count = bpf_map_lookup_elem(&events, &ev);

	if (count)
		*count += 1;
}

SEC("xdp")
int flow_table(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct flow_key key = {};
	struct flow_val *v;
	__u64 len = data_end - data;
	int closing = 0;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (PAST_END(iph, sizeof(*iph), data_end) || iph->ihl != 5)
		return XDP_PASS;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(iph + 1);

		if (PAST_END(tcp, sizeof(*tcp), data_end))
			return XDP_PASS;
		key.sport = tcp->source;
		key.dport = tcp->dest;
		closing = tcp->fin || tcp->rst;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(iph + 1);

		if (PAST_END(udp, sizeof(*udp), data_end))
			return XDP_PASS;
		key.sport = udp->source;
		key.dport = udp->dest;
	} else {
		return XDP_PASS;
	}
	key.saddr = iph->saddr;
	key.daddr = iph->daddr;
	key.proto = iph->protocol;

	if (closing) {
		count_event(bpf_map_delete_elem(&flows, &key) == 0 ? EV_CLOSED : EV_CLOSE_UNKNOWN);
		return XDP_PASS;
	}
	v = bpf_map_lookup_elem(&flows, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, len);
		return XDP_PASS;
	}
	struct flow_val fresh = { .packets = 1, .bytes = len };

	if (bpf_map_update_elem(&flows, &key, &fresh, BPF_NOEXIST) != 0) {
		count_event(EV_FULL);
		return XDP_DROP;
	}
	count_event(EV_NEW);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
