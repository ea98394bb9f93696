/* SPDX-License-Identifier: GPL-2.0 */
/* Shared definitions for the JITNIC XDP programs: headers, packet-pointer macros and one's-complement
 * checksum arithmetic. Everything here is inlined: the NIC runs straight-line code with loads and
 * stores only, so no helper calls, no maps, no BPF-to-BPF calls. */
#ifndef JITNIC_XDP_H
#define JITNIC_XDP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define INLINE static __always_inline

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58 /* defined by linux/in6.h, which is not self-contained */
#endif

/* IPv4 "more fragments" flag and fragment offset mask in iphdr.frag_off (host order). */
#define IP_MF_FLAG 0x2000
#define IP_OFFSET_MASK 0x1fff

/* ICMPv4 header (linux/icmp.h drags in glibc's socket headers, which do not build for -target bpf). */
struct icmp4hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define ICMP_TIMESTAMP 13

/* 802.1Q tag that follows the outer Ethernet header. */
struct vlan_tag {
	__be16 tci;
	__be16 inner_proto;
};

/* True when [p, p + n) is not inside the packet. */
#define PAST_END(p, n, data_end) ((void *)(p) + (n) > (void *)(data_end))

/* Fold a 32-bit one's-complement accumulator into 16 bits (two folds are always enough for sums of
 * a few 16-bit words). */
INLINE __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from old to new.
 * All values in host order. */
INLINE __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check;
	sum += (__u16)~old;
	sum += new;
	return (__u16)~csum_fold32(sum);
}

/* The same for a 32-bit field (two 16-bit words), host order. */
INLINE __u16 csum_replace32(__u16 check, __u32 old, __u32 new)
{
	__u32 sum = (__u16)~check;
	sum += (__u16)~(old >> 16);
	sum += (__u16)~(old & 0xffff);
	sum += new >> 16;
	sum += new & 0xffff;
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~csum_fold32(sum);
}

/* Swap the 6-byte destination and source MAC addresses. */
INLINE void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

#endif /* JITNIC_XDP_H */
