`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC ingress: Avalon-ST frames into a packet-RAM buffer and the header window, one descriptor each.

`include "jitnic_abi.vh"

/*
 * A frame is written into buffer wr_buf of the packet RAM (word w = bytes 8w..8w+7, byte 8w+j in
 * bits [8j+7:8j]) and into the header window (byte k in bits [8k+7:8k], zero past the frame). At
 * end of packet a descriptor (buffer, length, window) is offered to the packet engine; the next
 * frame can start in the cycle the descriptor is taken, so back-to-back frames need no idle cycle
 * as long as the engine keeps up and a buffer is free. A buffer is claimed (buf_alloc) when a frame
 * starts; a frame longer than PKT_BYTES is still accepted to its end (the wire never stalls on it),
 * then dropped: its buffer is given back (buf_release) and OVERSIZE counted.
 */
module jitnic_rx #(
    // Avalon-ST data width in bits: 8, 16, 32 or 64
    parameter DATA_WIDTH = 64,
    // width of rx_empty (derived, do not override)
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

    // frames from the wire
    input  wire [DATA_WIDTH-1:0]       rx_data,
    input  wire                        rx_valid,
    output wire                        rx_ready,
    input  wire                        rx_startofpacket,
    input  wire                        rx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0]      rx_empty,

    // buffer accounting: buf_avail when a buffer is free; alloc at frame start, release on drop
    input  wire                        buf_avail,
    output wire                        buf_alloc,
    output wire                        buf_release,

    // packet RAM write port, address {buffer, word}
    output wire                        ram_wr_en,
    output wire [7:0]                  ram_wr_be,
    output wire [BUF_W+PKT_ADDR_W-1:0] ram_wr_addr,
    output wire [63:0]                 ram_wr_data,

    // descriptor of a received frame, to the packet engine
    output wire                        desc_valid,
    input  wire                        desc_ready,
    output wire [BUF_W-1:0]            desc_buf,
    output wire [15:0]                 desc_len,
    output wire [HDR_BYTES*8-1:0]      desc_hdr,

    // events (one-cycle pulses at end of packet)
    output wire                        ev_frame,
    output wire                        ev_runt,
    output wire                        ev_oversize
);

localparam BPB = DATA_WIDTH / 8;            // bytes per beat
localparam BPB_LOG = $clog2(BPB);
localparam LANE_W = BPB < 8 ? $clog2(8 / BPB) : 1;     // beat lane inside a 64-bit RAM word

reg                        in_frame_reg, in_frame_next;
reg [16:0]                 pos_reg, pos_next;          // byte offset of the next beat
reg                        over_reg, over_next;        // frame longer than PKT_BYTES
reg [BUF_W-1:0]            buf_reg, buf_next;          // buffer being written
reg [HDR_BYTES*8-1:0]      hdr_reg, hdr_next;
reg                        desc_valid_reg, desc_valid_next;
reg [BUF_W-1:0]            desc_buf_reg, desc_buf_next;
reg [15:0]                 desc_len_reg, desc_len_next;

reg                        alloc_c, release_c, frame_c, runt_c, oversize_c;
reg                        wr_en_c;
reg [7:0]                  wr_be_c;
reg [63:0]                 wr_data_c;

reg [DATA_WIDTH-1:0]       beat_le;                    // beat bytes, first byte in [7:0], invalid bytes 0
reg [16:0]                 nbytes;             // valid bytes in this beat
reg [16:0]                 beat_pos;
reg [16:0]                 end_pos;

wire can_start = buf_avail && (!desc_valid_reg || desc_ready);
wire beat = rx_valid && rx_ready;

integer b;

always @* begin
    in_frame_next = in_frame_reg;
    pos_next = pos_reg;
    over_next = over_reg;
    buf_next = buf_reg;
    hdr_next = hdr_reg;
    desc_valid_next = desc_valid_reg && !desc_ready;
    desc_buf_next = desc_buf_reg;
    desc_len_next = desc_len_reg;
    alloc_c = 1'b0;
    release_c = 1'b0;
    frame_c = 1'b0;
    runt_c = 1'b0;
    oversize_c = 1'b0;
    wr_en_c = 1'b0;
    wr_be_c = 8'd0;
    wr_data_c = 64'd0;

    nbytes = BPB[16:0];
    if (rx_endofpacket && DATA_WIDTH > 8) begin
        nbytes = BPB[16:0] - {{17-EMPTY_WIDTH{1'b0}}, rx_empty};
    end
    for (b = 0; b < BPB; b = b + 1) begin
        beat_le[8*b +: 8] = b < nbytes ? rx_data[DATA_WIDTH-1-8*b -: 8] : 8'd0;
    end

    // byte offset of this beat in its frame
    beat_pos = rx_startofpacket ? 17'd0 : pos_reg;
    end_pos = beat_pos + nbytes;

    if (beat && (rx_startofpacket || in_frame_reg)) begin
        if (rx_startofpacket) begin
            // a start of packet inside a frame restarts it in the same buffer
            alloc_c = !in_frame_reg;
            in_frame_next = 1'b1;
            over_next = 1'b0;
            hdr_next = {HDR_BYTES*8{1'b0}};
        end
        if ({15'd0, end_pos} > PKT_BYTES) begin
            over_next = 1'b1;
        end
        if (!over_next) begin
            wr_en_c = 1'b1;
            for (b = 0; b < 8 / BPB; b = b + 1) begin
                wr_data_c[DATA_WIDTH*b +: DATA_WIDTH] = beat_le;
            end
            wr_be_c = BPB == 8 ? 8'hff : ~(8'hff << BPB) << (BPB * beat_pos[BPB_LOG +: LANE_W]);
            if ({15'd0, beat_pos} < HDR_BYTES) begin
                hdr_next[8*beat_pos +: DATA_WIDTH] = beat_le;
            end
            pos_next = end_pos;
        end
        if (rx_endofpacket) begin
            in_frame_next = 1'b0;
            frame_c = 1'b1;
            if (over_next) begin
                oversize_c = 1'b1;
                release_c = 1'b1;
            end else begin
                runt_c = end_pos < `JITNIC_ETH_HLEN;
                desc_valid_next = 1'b1;
                desc_buf_next = buf_reg;
                desc_len_next = end_pos[15:0];
                buf_next = buf_reg + 1'b1;
            end
        end
    end
end

always @(posedge clk) begin
    in_frame_reg <= in_frame_next;
    pos_reg <= pos_next;
    over_reg <= over_next;
    buf_reg <= buf_next;
    hdr_reg <= hdr_next;
    desc_valid_reg <= desc_valid_next;
    desc_buf_reg <= desc_buf_next;
    desc_len_reg <= desc_len_next;
    if (rst) begin
        in_frame_reg <= 1'b0;
        pos_reg <= 17'd0;
        over_reg <= 1'b0;
        buf_reg <= {BUF_W{1'b0}};
        desc_valid_reg <= 1'b0;
        desc_buf_reg <= {BUF_W{1'b0}};
        desc_len_reg <= 16'd0;
    end
end

assign rx_ready = in_frame_reg || can_start;

assign buf_alloc = alloc_c;
assign buf_release = release_c;

assign ram_wr_en = wr_en_c;
assign ram_wr_be = wr_be_c;
assign ram_wr_addr = {buf_reg, beat_pos[3 +: PKT_ADDR_W]};
assign ram_wr_data = wr_data_c;

assign desc_valid = desc_valid_reg;
assign desc_buf = desc_buf_reg;
assign desc_len = desc_len_reg;
assign desc_hdr = hdr_reg;

assign ev_frame = frame_c;
assign ev_runt = runt_c;
assign ev_oversize = oversize_c;

initial begin
    if (DATA_WIDTH != 8 && DATA_WIDTH != 16 && DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $display("Error: DATA_WIDTH must be 8, 16, 32 or 64, got %0d (instance %m)", DATA_WIDTH);
        $finish;
    end
    if (HDR_BYTES % 8 != 0 || PKT_BYTES % 8 != 0 || PKT_BYTES < HDR_BYTES || PKT_BYTES > 32768) begin
        $display("Error: need HDR_BYTES, PKT_BYTES multiples of 8, HDR_BYTES <= PKT_BYTES <= 32768 (instance %m)");
        $finish;
    end
    if (N_BUFS < 2 || (N_BUFS & (N_BUFS - 1)) != 0) begin
        $display("Error: N_BUFS must be a power of two >= 2, got %0d (instance %m)", N_BUFS);
        $finish;
    end
end

endmodule

`resetall
