`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC egress: frames rebuilt from header window + packet RAM onto tx or host; host_tx merged into tx.

`include "jitnic_abi.vh"

/*
 * One descriptor per frame, in arrival order: destination (drop, tx, host + channel), buffer,
 * length and the header window to send (the trace's hdr_out, or the original window). Bytes below
 * HDR_BYTES come from that window, the rest from the packet RAM; 64-bit words go through a 4-word
 * FIFO into a serializer that cuts them into DATA_WIDTH beats (first byte in the high bits). A
 * dropped frame only frees its buffer. tx is shared with host_tx: an arbiter grants the stream a
 * whole frame at a time, alternating when both wait. tx and host leave through register slices.
 */
module jitnic_tx #(
    // Avalon-ST data width in bits: 8, 16, 32 or 64
    parameter DATA_WIDTH = 64,
    // width of the empty signals (derived, do not override)
    parameter EMPTY_WIDTH = DATA_WIDTH > 8 ? $clog2(DATA_WIDTH / 8) : 1,
    // header window bytes; multiple of 8
    parameter HDR_BYTES = 128,
    // packet buffer bytes; multiple of 8, >= HDR_BYTES
    parameter PKT_BYTES = 2048,
    // packet buffers in the RAM; power of two >= 2
    parameter N_BUFS = 4,
    // buffer index width (derived, do not override)
    parameter BUF_W = $clog2(N_BUFS),
    // word address width inside a buffer (derived, do not override)
    parameter PKT_ADDR_W = $clog2(PKT_BYTES / 8)
) (
    input  wire                        clk,
    input  wire                        rst,

    // frame to send: dest 0 drop, 1 tx, 2 host (with desc_channel)
    input  wire                        desc_valid,
    output wire                        desc_ready,
    input  wire [1:0]                  desc_dest,
    input  wire [1:0]                  desc_channel,
    input  wire [BUF_W-1:0]            desc_buf,
    input  wire [15:0]                 desc_len,
    input  wire [HDR_BYTES*8-1:0]      desc_hdr,

    // packet RAM read port (synchronous), address {buffer, word}
    output wire                        ram_rd_en,
    output wire [BUF_W+PKT_ADDR_W-1:0] ram_rd_addr,
    input  wire [63:0]                 ram_rd_data,

    // the frame's buffer is free again (pulse)
    output wire                        buf_free,

    // frames to the wire
    output wire [DATA_WIDTH-1:0]       tx_data,
    output wire                        tx_valid,
    input  wire                        tx_ready,
    output wire                        tx_startofpacket,
    output wire                        tx_endofpacket,
    output wire [EMPTY_WIDTH-1:0]      tx_empty,

    // frames to the host
    output wire [DATA_WIDTH-1:0]       host_data,
    output wire                        host_valid,
    input  wire                        host_ready,
    output wire                        host_startofpacket,
    output wire                        host_endofpacket,
    output wire [EMPTY_WIDTH-1:0]      host_empty,
    output wire [1:0]                  host_channel,

    // frames the host sends to the wire
    input  wire [DATA_WIDTH-1:0]       host_tx_data,
    input  wire                        host_tx_valid,
    output wire                        host_tx_ready,
    input  wire                        host_tx_startofpacket,
    input  wire                        host_tx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0]      host_tx_empty,

    // a host_tx frame ended (pulse)
    output wire                        ev_host_tx
);

localparam [1:0] DEST_DROP = 2'd0, DEST_TX = 2'd1, DEST_HOST = 2'd2;
localparam BPB = DATA_WIDTH / 8;                     // bytes per beat
localparam BPW = 8 / BPB;                            // beats per 64-bit word
localparam SUB_W = BPW > 1 ? $clog2(BPW) : 1;
localparam SUB_LAST_I = BPW - 1;
localparam [SUB_W-1:0] SUB_LAST = SUB_LAST_I[SUB_W-1:0];
localparam HDR_WORDS = HDR_BYTES / 8;
localparam FIFO_DEPTH = 4;
localparam PW = DATA_WIDTH + 2 + EMPTY_WIDTH;        // slice payload: data, sop, eop, empty

// ---- frame state ------------------------------------------------------------------------------
reg                   active_reg, active_next;
reg [1:0]             dest_reg, dest_next;
reg [1:0]             chan_reg, chan_next;
reg [BUF_W-1:0]       buf_reg, buf_next;
reg [15:0]            len_reg, len_next;
reg [HDR_BYTES*8-1:0] hdr_reg, hdr_next;
reg                   free_c;

// fetch: words 0..nwords-1, from the window below HDR_WORDS, else from the RAM
reg [15:0]            fetch_reg, fetch_next;         // next word to fetch
reg                   inflight_reg, inflight_next;   // a word arrives this cycle
reg                   inflight_hdr_reg, inflight_hdr_next;
reg [63:0]            hdr_word_reg, hdr_word_next;
reg                   rd_en_c;

// word FIFO
reg [63:0]            fifo_mem [0:FIFO_DEPTH-1];
reg [2:0]             fifo_wr_reg, fifo_rd_reg;      // one wrap bit
wire [2:0]            fifo_count = fifo_wr_reg - fifo_rd_reg;
reg                   push_c, pop_c;

// serializer
reg [SUB_W-1:0]       sub_reg, sub_next;             // beat inside the FIFO head word
reg [15:0]            opos_reg, opos_next;           // byte offset of the current beat

wire [15:0] nwords = (len_reg + 16'd7) >> 3;        // len <= 32768: no overflow
wire [63:0] head = fifo_mem[fifo_rd_reg[1:0]];

reg [DATA_WIDTH-1:0]  beat_data;
reg                   beat_eop;
reg [EMPTY_WIDTH-1:0] beat_empty;
reg [16:0]            beat_end;
wire                  beat_valid = active_reg && fifo_count != 3'd0;
wire                  beat_sop = opos_reg == 16'd0;
reg                   beat_ready;

integer b;

always @* begin
    // the beat at opos_reg: bytes sub*BPB .. of the head word, first byte in the high bits
    beat_end = {1'b0, opos_reg} + BPB[16:0];
    beat_eop = beat_end >= {1'b0, len_reg};
    beat_empty = {EMPTY_WIDTH{1'b0}};
    if (beat_eop && DATA_WIDTH > 8) begin
        beat_empty = beat_end[EMPTY_WIDTH-1:0] - len_reg[EMPTY_WIDTH-1:0];
    end
    for (b = 0; b < BPB; b = b + 1) begin
        beat_data[DATA_WIDTH-1-8*b -: 8] = {16'd0, opos_reg} + b < {16'd0, len_reg} ?
            head[8*(BPB*sub_reg + b) +: 8] : 8'd0;
    end
end

// ---- tx arbitration between this block and host_tx ---------------------------------------------
localparam [1:0] OWN_NONE = 2'd0, OWN_NIC = 2'd1, OWN_HOST = 2'd2;
reg [1:0] own_reg, own_next;
reg       prefer_host_reg, prefer_host_next;

wire [PW-1:0] txs_in_data;
wire          txs_in_valid;
wire          txs_in_ready;
wire [PW-1:0] txs_out_data;
wire [PW-1:0] hs_out_data;
wire          hs_in_ready;

wire nic_wants_tx = beat_valid && dest_reg == DEST_TX;
// host_tx may start a frame when tx is free and the NIC has nothing to send or it is the host's
// turn; host_tx_ready does not depend on host_tx_valid
wire host_may = own_reg == OWN_HOST ||
                (own_reg == OWN_NONE && (prefer_host_reg || !nic_wants_tx));
wire host_sel = own_reg == OWN_HOST || (own_reg == OWN_NONE && host_may && host_tx_valid);
wire nic_sel = own_reg == OWN_NIC || (own_reg == OWN_NONE && !host_sel);

assign host_tx_ready = host_may && txs_in_ready;
wire host_beat = host_tx_valid && host_tx_ready;

assign txs_in_valid = host_sel ? host_tx_valid : (nic_sel && nic_wants_tx);
assign txs_in_data = host_sel ? {host_tx_data, host_tx_startofpacket, host_tx_endofpacket, host_tx_empty}
                              : {beat_data, beat_sop, beat_eop, beat_empty};

always @* begin
    beat_ready = 1'b0;
    if (dest_reg == DEST_TX) begin
        beat_ready = nic_sel && txs_in_ready;
    end else if (dest_reg == DEST_HOST) begin
        beat_ready = hs_in_ready;
    end
end

wire nic_tx_beat = nic_wants_tx && beat_ready;

always @* begin
    own_next = own_reg;
    prefer_host_next = prefer_host_reg;
    if (host_beat) begin
        own_next = host_tx_endofpacket ? OWN_NONE : OWN_HOST;
        if (host_tx_endofpacket) begin
            prefer_host_next = 1'b0;
        end
    end else if (nic_tx_beat) begin
        own_next = beat_eop ? OWN_NONE : OWN_NIC;
        if (beat_eop) begin
            prefer_host_next = 1'b1;
        end
    end
end

// ---- frame sequencing --------------------------------------------------------------------------
wire beat_go = beat_valid && beat_ready;

always @* begin
    active_next = active_reg;
    dest_next = dest_reg;
    chan_next = chan_reg;
    buf_next = buf_reg;
    len_next = len_reg;
    hdr_next = hdr_reg;
    free_c = 1'b0;
    fetch_next = fetch_reg;
    inflight_next = 1'b0;
    inflight_hdr_next = inflight_hdr_reg;
    hdr_word_next = hdr_word_reg;
    rd_en_c = 1'b0;
    sub_next = sub_reg;
    opos_next = opos_reg;
    pop_c = 1'b0;
    push_c = inflight_reg;

    if (!active_reg) begin
        if (desc_valid) begin
            if (desc_dest == DEST_DROP) begin
                free_c = 1'b1;
            end else begin
                active_next = 1'b1;
                dest_next = desc_dest;
                chan_next = desc_channel;
                buf_next = desc_buf;
                len_next = desc_len;
                hdr_next = desc_hdr;
                fetch_next = 16'd0;
                sub_next = {SUB_W{1'b0}};
                opos_next = 16'd0;
            end
        end
    end else begin
        // fetch while the FIFO (counting the word in flight) has room
        if (fetch_reg < nwords && fifo_count + {2'b00, inflight_reg} < FIFO_DEPTH[2:0]) begin
            inflight_next = 1'b1;
            inflight_hdr_next = {16'd0, fetch_reg} < HDR_WORDS;
            hdr_word_next = hdr_reg[64*fetch_reg[$clog2(HDR_WORDS)-1:0] +: 64];
            rd_en_c = {16'd0, fetch_reg} >= HDR_WORDS;
            fetch_next = fetch_reg + 1'b1;
        end
        if (beat_go) begin
            opos_next = opos_reg + BPB[15:0];
            if (beat_eop) begin
                pop_c = 1'b1;
                active_next = 1'b0;
                free_c = 1'b1;
            end else if (sub_reg == SUB_LAST) begin
                pop_c = 1'b1;
                sub_next = {SUB_W{1'b0}};
            end else begin
                sub_next = sub_reg + 1'b1;
            end
        end
    end
end

always @(posedge clk) begin
    active_reg <= active_next;
    dest_reg <= dest_next;
    chan_reg <= chan_next;
    buf_reg <= buf_next;
    len_reg <= len_next;
    hdr_reg <= hdr_next;
    fetch_reg <= fetch_next;
    inflight_reg <= inflight_next;
    inflight_hdr_reg <= inflight_hdr_next;
    hdr_word_reg <= hdr_word_next;
    sub_reg <= sub_next;
    opos_reg <= opos_next;
    own_reg <= own_next;
    prefer_host_reg <= prefer_host_next;
    if (push_c) begin
        fifo_mem[fifo_wr_reg[1:0]] <= inflight_hdr_reg ? hdr_word_reg : ram_rd_data;
        fifo_wr_reg <= fifo_wr_reg + 1'b1;
    end
    if (pop_c) begin
        fifo_rd_reg <= fifo_rd_reg + 1'b1;
    end
    if (rst) begin
        active_reg <= 1'b0;
        dest_reg <= DEST_DROP;
        len_reg <= 16'd0;
        fetch_reg <= 16'd0;
        inflight_reg <= 1'b0;
        sub_reg <= {SUB_W{1'b0}};
        opos_reg <= 16'd0;
        fifo_wr_reg <= 3'd0;
        fifo_rd_reg <= 3'd0;
        own_reg <= OWN_NONE;
        prefer_host_reg <= 1'b0;
    end
end

integer k;
initial begin
    for (k = 0; k < FIFO_DEPTH; k = k + 1) begin
        fifo_mem[k] = 64'd0;
    end
end

assign desc_ready = !active_reg;
assign ram_rd_en = rd_en_c;
assign ram_rd_addr = {buf_reg, fetch_reg[PKT_ADDR_W-1:0]};
assign buf_free = free_c;
assign ev_host_tx = host_beat && host_tx_endofpacket;

// ---- output register slices --------------------------------------------------------------------
wire txs_out_valid;
jitnic_st_reg #(.WIDTH(PW)) u_tx_reg (
    .clk(clk), .rst(rst),
    .in_data(txs_in_data), .in_valid(txs_in_valid), .in_ready(txs_in_ready),
    .out_data(txs_out_data), .out_valid(txs_out_valid), .out_ready(tx_ready)
);
assign tx_valid = txs_out_valid;
assign {tx_data, tx_startofpacket, tx_endofpacket, tx_empty} = txs_out_data;

wire hs_out_valid;
jitnic_st_reg #(.WIDTH(PW + 2)) u_host_reg (
    .clk(clk), .rst(rst),
    .in_data({beat_data, beat_sop, beat_eop, beat_empty, chan_reg}),
    .in_valid(beat_valid && dest_reg == DEST_HOST), .in_ready(hs_in_ready),
    .out_data({hs_out_data, host_channel}), .out_valid(hs_out_valid), .out_ready(host_ready)
);
assign host_valid = hs_out_valid;
assign {host_data, host_startofpacket, host_endofpacket, host_empty} = hs_out_data;

initial begin
    if (DATA_WIDTH != 8 && DATA_WIDTH != 16 && DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $display("Error: DATA_WIDTH must be 8, 16, 32 or 64, got %0d (instance %m)", DATA_WIDTH);
        $finish;
    end
    if (HDR_BYTES < 16 || HDR_BYTES % 8 != 0 || PKT_BYTES % 8 != 0 || PKT_BYTES < HDR_BYTES || PKT_BYTES > 32768) begin
        $display("Error: need HDR_BYTES, PKT_BYTES multiples of 8, 16 <= HDR_BYTES <= PKT_BYTES <= 32768 (instance %m)");
        $finish;
    end
end

endmodule

`resetall
