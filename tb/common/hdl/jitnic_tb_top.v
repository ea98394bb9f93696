`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC bench top: jitnic_top with whole-frame sources and collectors and a batch AXI4-Lite master.

/*
 * The fast path of the benches (tb/common/fast.py): Python writes whole frames into the rx and
 * host_tx sources' rings, sleeps until the tx and host collectors close a frame, and runs control
 * bus operations in batches, so it wakes about once per frame instead of once per beat. Idle
 * gaps and back-pressure are generated here from the seeds and thresholds the bench sets.
 *
 * This is the one place outside rtl/ that lists jitnic_top's ports: a new port of the NIC is one
 * edit here (and, if the bench should see it, a field of a collector's descriptor).
 */
`include "jitnic_abi.vh"

module jitnic_tb_top #(
    // jitnic_top's parameters (meaning and constraints: rtl/jitnic_top.v)
    parameter N_ENTRIES = `JITNIC_N_ENTRIES,
    parameter MAX_ATOMS = `JITNIC_MAX_ATOMS,
    parameter MAX_TRACE_LEN = `JITNIC_MAX_TRACE_LEN,
    parameter HDR_BYTES = `JITNIC_HDR_BYTES,
    parameter DATA_WIDTH = `JITNIC_DATA_WIDTH,
    parameter PKT_BYTES = `JITNIC_PKT_BYTES,
    parameter [63:0] POLICY = "lru",
    parameter N_BUFS = `JITNIC_N_BUFS,
    parameter N_LANES = `JITNIC_N_LANES,
    parameter N_SLOTS = `JITNIC_N_SLOTS,
    parameter N_LEN_ATOMS = `JITNIC_N_LEN_ATOMS,
    parameter N_GEN_ATOMS = `JITNIC_N_GEN_ATOMS,
    // the bench's rings: bytes per slot (a multiple of DATA_WIDTH/8) and log2 of their slots
    parameter SLOT_BYTES = 256,
    parameter RING_LOG2 = 5
) (
    input  wire clk,
    input  wire rst
);

localparam EMPTY_WIDTH = $clog2(DATA_WIDTH / 8);

wire [DATA_WIDTH-1:0]  rx_data, tx_data, host_data, host_tx_data;
wire [EMPTY_WIDTH-1:0] rx_empty, tx_empty, host_empty, host_tx_empty;
wire rx_valid, rx_ready, rx_startofpacket, rx_endofpacket, rx_error, rx_pause;
wire tx_valid, tx_ready, tx_startofpacket, tx_endofpacket;
wire host_valid, host_ready, host_startofpacket, host_endofpacket;
wire [1:0] host_channel;
wire [63:0] host_meta;
wire host_tx_valid, host_tx_ready, host_tx_startofpacket, host_tx_endofpacket;
wire host_tx_error_unused;
wire [63:0] rx_timestamp;
/* verilator lint_off UNUSEDSIGNAL */
wire [63:0] host_tx_timestamp_unused;
/* verilator lint_on UNUSEDSIGNAL */

wire [15:0] awaddr, araddr;
wire [2:0]  awprot, arprot;
wire [31:0] wdata, rdata;
wire [3:0]  wstrb;
wire [1:0]  bresp, rresp;
wire awvalid, awready, wvalid, wready, bvalid, bready, arvalid, arready, rvalid, rready;

jitnic_top #(
    .N_ENTRIES(N_ENTRIES), .MAX_ATOMS(MAX_ATOMS), .MAX_TRACE_LEN(MAX_TRACE_LEN),
    .HDR_BYTES(HDR_BYTES), .DATA_WIDTH(DATA_WIDTH), .PKT_BYTES(PKT_BYTES), .POLICY(POLICY),
    .N_BUFS(N_BUFS), .N_LANES(N_LANES), .N_SLOTS(N_SLOTS), .N_LEN_ATOMS(N_LEN_ATOMS),
    .N_GEN_ATOMS(N_GEN_ATOMS)
) u_nic (
    .clk(clk), .rst(rst),
    .rx_data(rx_data), .rx_valid(rx_valid), .rx_ready(rx_ready),
    .rx_startofpacket(rx_startofpacket), .rx_endofpacket(rx_endofpacket), .rx_empty(rx_empty),
    .rx_error(rx_error), .rx_pause(rx_pause),
    .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
    .tx_startofpacket(tx_startofpacket), .tx_endofpacket(tx_endofpacket), .tx_empty(tx_empty),
    .host_data(host_data), .host_valid(host_valid), .host_ready(host_ready),
    .host_startofpacket(host_startofpacket), .host_endofpacket(host_endofpacket),
    .host_empty(host_empty), .host_channel(host_channel), .host_meta(host_meta),
    .host_tx_data(host_tx_data), .host_tx_valid(host_tx_valid), .host_tx_ready(host_tx_ready),
    .host_tx_startofpacket(host_tx_startofpacket), .host_tx_endofpacket(host_tx_endofpacket),
    .host_tx_empty(host_tx_empty),
    .s_axil_awaddr(awaddr), .s_axil_awprot(awprot), .s_axil_awvalid(awvalid),
    .s_axil_awready(awready), .s_axil_wdata(wdata), .s_axil_wstrb(wstrb),
    .s_axil_wvalid(wvalid), .s_axil_wready(wready), .s_axil_bresp(bresp),
    .s_axil_bvalid(bvalid), .s_axil_bready(bready), .s_axil_araddr(araddr),
    .s_axil_arprot(arprot), .s_axil_arvalid(arvalid), .s_axil_arready(arready),
    .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(rready),
    .rx_timestamp(rx_timestamp)
);

jitnic_tb_source #(
    .DATA_WIDTH(DATA_WIDTH), .SLOT_BYTES(SLOT_BYTES), .RING_LOG2(RING_LOG2), .WIRE(1)
) u_rx (
    .clk(clk), .rst(rst),
    .m_data(rx_data), .m_valid(rx_valid), .m_ready(rx_ready), .m_startofpacket(rx_startofpacket),
    .m_endofpacket(rx_endofpacket), .m_empty(rx_empty), .m_error(rx_error), .m_pause(rx_pause),
    .m_timestamp(rx_timestamp)
);

jitnic_tb_source #(
    .DATA_WIDTH(DATA_WIDTH), .SLOT_BYTES(SLOT_BYTES), .RING_LOG2(RING_LOG2), .WIRE(0)
) u_host_tx (
    .clk(clk), .rst(rst),
    .m_data(host_tx_data), .m_valid(host_tx_valid), .m_ready(host_tx_ready),
    .m_startofpacket(host_tx_startofpacket), .m_endofpacket(host_tx_endofpacket),
    .m_empty(host_tx_empty), .m_error(host_tx_error_unused), .m_pause(1'b0),
    .m_timestamp(host_tx_timestamp_unused)
);

jitnic_tb_sink #(
    .DATA_WIDTH(DATA_WIDTH), .CHANNEL_WIDTH(1), .SLOT_BYTES(SLOT_BYTES), .RING_LOG2(RING_LOG2)
) u_tx (
    .clk(clk), .rst(rst),
    .s_data(tx_data), .s_valid(tx_valid), .s_ready(tx_ready), .s_startofpacket(tx_startofpacket),
    .s_endofpacket(tx_endofpacket), .s_empty(tx_empty), .s_channel(1'b0), .s_meta(64'd0)
);

jitnic_tb_sink #(
    .DATA_WIDTH(DATA_WIDTH), .CHANNEL_WIDTH(2), .SLOT_BYTES(SLOT_BYTES), .RING_LOG2(RING_LOG2)
) u_host (
    .clk(clk), .rst(rst),
    .s_data(host_data), .s_valid(host_valid), .s_ready(host_ready),
    .s_startofpacket(host_startofpacket), .s_endofpacket(host_endofpacket),
    .s_empty(host_empty), .s_channel(host_channel), .s_meta(host_meta)
);

jitnic_tb_axil u_axil (
    .clk(clk), .rst(rst),
    .m_axil_awaddr(awaddr), .m_axil_awprot(awprot), .m_axil_awvalid(awvalid),
    .m_axil_awready(awready), .m_axil_wdata(wdata), .m_axil_wstrb(wstrb),
    .m_axil_wvalid(wvalid), .m_axil_wready(wready), .m_axil_bresp(bresp),
    .m_axil_bvalid(bvalid), .m_axil_bready(bready), .m_axil_araddr(araddr),
    .m_axil_arprot(arprot), .m_axil_arvalid(arvalid), .m_axil_arready(arready),
    .m_axil_rdata(rdata), .m_axil_rresp(rresp), .m_axil_rvalid(rvalid), .m_axil_rready(rready)
);

endmodule

`resetall
