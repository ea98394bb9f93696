// SPDX-License-Identifier: GPL-2.0
/* deny_list: drops IPv4 frames whose source address is in a hash map that user space fills (here:
 * `jitnic interp --maps-in programs/deny_list.maps.json`), and counts the drops per address with an
 * atomic add (several CPUs may hit the same entry). Everything else passes, and a per-CPU array
 * counts the verdicts (key 0: passed, key 1: dropped). */
#include "jitnic_xdp.h"

enum verdict { VERDICT_PASS, VERDICT_DROP, VERDICT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);         /* IPv4 source address, network order */
	__type(value, __u64);        /* frames dropped from it */
	__uint(max_entries, 1024);
} deny_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, VERDICT_MAX);
} verdicts SEC(".maps");

INLINE int count_verdict(__u32 verdict, int action)
{
	__u64 *count = bpf_map_lookup_elem(&verdicts, &verdict);

	if (count)
		*count += 1;
	return action;
}

SEC("xdp")
int deny_list(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__be32 saddr;
	__u64 *drops;

	if (PAST_END(eth, sizeof(*eth), data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return count_verdict(VERDICT_PASS, XDP_PASS);
	if (PAST_END(iph, sizeof(*iph), data_end))
		return count_verdict(VERDICT_PASS, XDP_PASS);
	saddr = iph->saddr;
	drops = bpf_map_lookup_elem(&deny_v4, &saddr);
	if (!drops)
		return count_verdict(VERDICT_PASS, XDP_PASS);
	__sync_fetch_and_add(drops, 1);
	return count_verdict(VERDICT_DROP, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
