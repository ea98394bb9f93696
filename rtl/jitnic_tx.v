`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC egress: a queue per output stream (tx, host); host_tx merged into tx a whole frame at a time.

/*
 * The packet engine hands each frame to the tx queue or the host queue (jitnic_egress); each
 * queue reads its frames from its own port of the packet buffers, so a stalled tx never delays a
 * host-bound frame and the other way round. Frames keep arrival order within each stream. tx is
 * shared with host_tx: an arbiter grants the stream a whole frame at a time, alternating when both
 * wait. tx and host leave through register slices.
 */
module jitnic_tx #(
    // Avalon-ST data width in bits: 64, 128, 256 or 512
    parameter DATA_WIDTH = 64,
    // width of the empty signals (derived, do not override)
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    // packet buffers; power of two >= 2
    parameter N_BUFS = 4,
    // buffer index width (derived, do not override)
    parameter BUF_W = $clog2(N_BUFS),
    // bus-word index width inside a buffer
    parameter WORD_W = 8
) (
    input  wire                   clk,
    input  wire                   rst,

    // frames for tx and for the host (with channel)
    input  wire                   txq_push,
    input  wire [BUF_W-1:0]       txq_buf,
    input  wire [15:0]            txq_len,
    input  wire [15:0]            txq_off,        // byte of the buffer where the frame starts
    input  wire                   hostq_push,
    input  wire [BUF_W-1:0]       hostq_buf,
    input  wire [15:0]            hostq_len,
    input  wire [15:0]            hostq_off,
    input  wire [1:0]             hostq_chan,
    input  wire [63:0]            hostq_meta,     // REDIRECT: encoding.redirect_meta, else 0

    // packet buffer read ports (tx queue, host queue)
    output wire                   txq_rd_en,
    output wire [BUF_W-1:0]       txq_rd_buf,
    output wire [WORD_W-1:0]      txq_rd_word,
    input  wire [DATA_WIDTH-1:0]  txq_rd_data,
    output wire                   hostq_rd_en,
    output wire [BUF_W-1:0]       hostq_rd_buf,
    output wire [WORD_W-1:0]      hostq_rd_word,
    input  wire [DATA_WIDTH-1:0]  hostq_rd_data,

    // buffers whose frame has been read (pulses)
    output wire                   txq_free,
    output wire [BUF_W-1:0]       txq_free_buf,
    output wire                   hostq_free,
    output wire [BUF_W-1:0]       hostq_free_buf,

    // frames to the wire
    output wire [DATA_WIDTH-1:0]  tx_data,
    output wire                   tx_valid,
    input  wire                   tx_ready,
    output wire                   tx_startofpacket,
    output wire                   tx_endofpacket,
    output wire [EMPTY_WIDTH-1:0] tx_empty,

    // frames to the host
    output wire [DATA_WIDTH-1:0]  host_data,
    output wire                   host_valid,
    input  wire                   host_ready,
    output wire                   host_startofpacket,
    output wire                   host_endofpacket,
    output wire [EMPTY_WIDTH-1:0] host_empty,
    output wire [1:0]             host_channel,
    output wire [63:0]            host_meta,      // with every beat of a frame, like host_channel

    // frames the host sends to the wire
    input  wire [DATA_WIDTH-1:0]  host_tx_data,
    input  wire                   host_tx_valid,
    output wire                   host_tx_ready,
    input  wire                   host_tx_startofpacket,
    input  wire                   host_tx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0] host_tx_empty,

    // a host_tx frame ended (pulse)
    output wire                   ev_host_tx
);

localparam PW = DATA_WIDTH + 2 + EMPTY_WIDTH;        // slice payload: data, sop, eop, empty

// ---- the two queues ------------------------------------------------------------------------------
wire [DATA_WIDTH-1:0]  nt_data, nh_data;
wire                   nt_valid, nh_valid, nt_ready, nh_ready;
wire                   nt_sop, nt_eop, nh_sop, nh_eop;
wire [EMPTY_WIDTH-1:0] nt_empty, nh_empty;
wire [65:0]            nh_chan;        // {metadata, channel}

/* verilator lint_off PINCONNECTEMPTY */
jitnic_egress #(.DATA_WIDTH(DATA_WIDTH), .N_BUFS(N_BUFS), .WORD_W(WORD_W)) u_txq (
    .clk(clk), .rst(rst),
    .desc_push(txq_push), .desc_buf(txq_buf), .desc_len(txq_len), .desc_off(txq_off), .desc_chan(2'd0),
    .rd_en(txq_rd_en), .rd_buf(txq_rd_buf), .rd_word(txq_rd_word), .rd_data(txq_rd_data),
    .free(txq_free), .free_buf(txq_free_buf),
    .out_data(nt_data), .out_valid(nt_valid), .out_ready(nt_ready),
    .out_startofpacket(nt_sop), .out_endofpacket(nt_eop), .out_empty(nt_empty), .out_channel()
);
/* verilator lint_on PINCONNECTEMPTY */

jitnic_egress #(.DATA_WIDTH(DATA_WIDTH), .N_BUFS(N_BUFS), .WORD_W(WORD_W), .CHAN_W(66)) u_hostq (
    .clk(clk), .rst(rst),
    .desc_push(hostq_push), .desc_buf(hostq_buf), .desc_len(hostq_len), .desc_off(hostq_off),
    .desc_chan({hostq_meta, hostq_chan}),
    .rd_en(hostq_rd_en), .rd_buf(hostq_rd_buf), .rd_word(hostq_rd_word), .rd_data(hostq_rd_data),
    .free(hostq_free), .free_buf(hostq_free_buf),
    .out_data(nh_data), .out_valid(nh_valid), .out_ready(nh_ready),
    .out_startofpacket(nh_sop), .out_endofpacket(nh_eop), .out_empty(nh_empty), .out_channel(nh_chan)
);

// ---- tx arbitration between the tx queue and host_tx ---------------------------------------------
localparam [1:0] OWN_NONE = 2'd0, OWN_NIC = 2'd1, OWN_HOST = 2'd2;
reg [1:0] own_reg, own_next;
reg       prefer_host_reg, prefer_host_next;

wire [PW-1:0] txs_in_data;
wire          txs_in_valid;
wire          txs_in_ready;
wire [PW-1:0] txs_out_data;
wire [PW-1:0] hs_out_data;

// host_tx may start a frame when tx is free and the NIC has nothing to send or it is the host's
// turn; host_tx_ready does not depend on host_tx_valid
wire host_may = own_reg == OWN_HOST ||
                (own_reg == OWN_NONE && (prefer_host_reg || !nt_valid));
wire host_sel = own_reg == OWN_HOST || (own_reg == OWN_NONE && host_may && host_tx_valid);
wire nic_sel = own_reg == OWN_NIC || (own_reg == OWN_NONE && !host_sel);

assign host_tx_ready = host_may && txs_in_ready;
wire host_beat = host_tx_valid && host_tx_ready;
assign nt_ready = nic_sel && txs_in_ready;
wire nic_beat = nt_valid && nt_ready;

assign txs_in_valid = host_sel ? host_tx_valid : (nic_sel && nt_valid);
assign txs_in_data = host_sel ? {host_tx_data, host_tx_startofpacket, host_tx_endofpacket, host_tx_empty}
                              : {nt_data, nt_sop, nt_eop, nt_empty};

always @* begin
    own_next = own_reg;
    prefer_host_next = prefer_host_reg;
    if (host_beat) begin
        own_next = host_tx_endofpacket ? OWN_NONE : OWN_HOST;
        if (host_tx_endofpacket) begin
            prefer_host_next = 1'b0;
        end
    end else if (nic_beat) begin
        own_next = nt_eop ? OWN_NONE : OWN_NIC;
        if (nt_eop) begin
            prefer_host_next = 1'b1;
        end
    end
end

always @(posedge clk) begin
    own_reg <= own_next;
    prefer_host_reg <= prefer_host_next;
    if (rst) begin
        own_reg <= OWN_NONE;
        prefer_host_reg <= 1'b0;
    end
end

assign ev_host_tx = host_beat && host_tx_endofpacket;

// ---- output register slices --------------------------------------------------------------------
jitnic_st_reg #(.WIDTH(PW)) u_tx_reg (
    .clk(clk), .rst(rst),
    .in_data(txs_in_data), .in_valid(txs_in_valid), .in_ready(txs_in_ready),
    .out_data(txs_out_data), .out_valid(tx_valid), .out_ready(tx_ready)
);
assign {tx_data, tx_startofpacket, tx_endofpacket, tx_empty} = txs_out_data;

jitnic_st_reg #(.WIDTH(PW + 66)) u_host_reg (
    .clk(clk), .rst(rst),
    .in_data({nh_data, nh_sop, nh_eop, nh_empty, nh_chan}),
    .in_valid(nh_valid), .in_ready(nh_ready),
    .out_data({hs_out_data, host_meta, host_channel}), .out_valid(host_valid), .out_ready(host_ready)
);
assign {host_data, host_startofpacket, host_endofpacket, host_empty} = hs_out_data;

endmodule

`resetall
