// SPDX-License-Identifier: GPL-2.0
/* dscp_marker: the DSCP remark at an edge router's trust boundary. Markings that arrive from
 * outside are not trusted: every IPv4 packet leaves with the DSCP its traffic class gets here (the
 * ECN bits are kept), and the header checksum is fixed incrementally (RFC 1624 eqn. 3).
 *
 *   UDP to ports 16384-32767 (RTP voice)   EF   (46)
 *   TCP or UDP to port 22 or 23 (OAM)      CS2  (16)
 *   TCP to port 80 or 443 (web)            AF21 (18)
 *   TCP to port 3389 (remote desktop)      AF41 (34)
 *   anything else, non-first fragments     CS0  (0)
 *
 * The headers are read with bpf_xdp_load_bytes into stack copies (the Ethernet and IPv4 headers
 * in one call, the L4 ports at 14 + 4 * IHL in a second) and the changed IPv4 header is written
 * back with bpf_xdp_store_bytes: no packet pointers, no bounds checks of its own (the helpers'
 * -EINVAL says the frame is too short). Frames that are not IPv4 (or too short, or with IHL < 5)
 * pass unchanged; so do packets already marked as their class. */
#include "jitnic_xdp.h"

#define DSCP_EF 46
#define DSCP_CS2 16
#define DSCP_AF21 18
#define DSCP_AF41 34

struct eth_ip {
	struct ethhdr eth;
	struct iphdr ip;
} __attribute__((packed));

INLINE __u8 traffic_class(__u8 proto, __u16 dport)
{
	if (proto == IPPROTO_UDP && dport >= 16384 && dport <= 32767)
		return DSCP_EF;
	if (dport == 22 || dport == 23)
		return DSCP_CS2;
	if (proto == IPPROTO_TCP && (dport == 80 || dport == 443))
		return DSCP_AF21;
	if (proto == IPPROTO_TCP && dport == 3389)
		return DSCP_AF41;
	return 0;
}

SEC("xdp")
int dscp_marker(struct xdp_md *ctx)
{
	struct eth_ip h;
	__be16 ports[2];
	__u8 dscp = 0, tos;
	__u16 old_word, new_word;

	if (bpf_xdp_load_bytes(ctx, 0, &h, sizeof(h)) < 0)
		return XDP_PASS;                /* shorter than Ethernet + IPv4 headers */
	if (h.eth.h_proto != bpf_htons(ETH_P_IP) || h.ip.version != 4 || h.ip.ihl < 5)
		return XDP_PASS;
	if ((h.ip.protocol == IPPROTO_TCP || h.ip.protocol == IPPROTO_UDP) &&
	    !(h.ip.frag_off & bpf_htons(IP_OFFSET_MASK)) &&
	    bpf_xdp_load_bytes(ctx, sizeof(struct ethhdr) + h.ip.ihl * 4, ports, sizeof(ports)) == 0)
		dscp = traffic_class(h.ip.protocol, bpf_ntohs(ports[1]));
	tos = (__u8)(dscp << 2) | (h.ip.tos & 3);
	if (tos == h.ip.tos)
		return XDP_PASS;
	/* the 16-bit word at IPv4 offset 0: version/IHL, then TOS */
	old_word = ((__u16)(h.ip.version << 4 | h.ip.ihl) << 8) | h.ip.tos;
	new_word = (old_word & 0xff00) | tos;
	h.ip.check = bpf_htons(csum_replace16(bpf_ntohs(h.ip.check), old_word, new_word));
	h.ip.tos = tos;
	if (bpf_xdp_store_bytes(ctx, sizeof(struct ethhdr), &h.ip, sizeof(h.ip)) < 0)
		return XDP_ABORTED;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
