`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC executor memory unit: load/store address decode, region checks, byte lanes (combinational).

`include "jitnic_abi.vh"

/*
 * Two independent combinational halves, so that a pipelined engine can put registers between them.
 *
 * Request (the cycle an LDX/ST/STX issues): address = base + sext(off), checked against the
 * executor memory rules of docs/abi.md, in the order of jit/nicexec.py:
 *   - address >= 2^32, or in no region                         -> EXEC_ERR_BAD_ADDRESS
 *   - [CTX_BASE, PKT_BASE): aligned 4-byte load of one of the six xdp_md fields, else
 *                                                                  EXEC_ERR_CTX_ACCESS
 *   - [PKT_BASE, STACK_BASE): every byte in [data, data_end) (and inside the PKT_BYTES buffer),
 *     else EXEC_ERR_PKT_BOUNDS; stores also below frame byte HDR_BYTES, else EXEC_ERR_STORE_WINDOW.
 *     data and data_end are the run's (bpf_xdp_adjust_head/tail move them), given as positions
 *     from the start of the head margin (NIC_HEADROOM bytes in front of the frame's first byte)
 *   - [STACK_BASE, MAP_BASE): every byte in [STACK_BASE, STACK_TOP), else EXEC_ERR_STACK_BOUNDS
 *   An access that passes touches 64-bit word `req_word` of its region (packet: positions 8w..
 *   8w+7, the head margin's words first; stack: STACK_BASE + 8w) from byte `req_lane`, and word req_word + 1 when
 *   `req_span`. Store data and byte enables are laid out on the 16 byte lanes of those two words
 *   (lanes 0..7 word req_word, 8..15 word req_word + 1), zero outside the enabled lanes.
 *
 * Response (the cycle load data is back): `rsp_line` = {word w+1, word w} of the region, the
 * access's lane/size/sign-extension -> the value for the destination register. A context load
 * passes {96'd0, req_ctx_data} with lane 0.
 */
module jitnic_memunit #(
    parameter HDR_BYTES = 128,     // writable header window (bytes); stores must stay below it
    parameter PKT_BYTES = 2048,    // packet buffer (bytes); accesses past it are PKT_BOUNDS
    parameter WORD_W = 9           // width of req_word: >= 6 (stack) and >= log2((NIC_HEADROOM + PKT_BYTES) / 8)
) (
    // request
    input  wire [63:0]       req_base,      // base register value
    input  wire [15:0]       req_off,       // signed 16-bit offset
    input  wire [1:0]        req_size,      // opcode[4:3]: W 0, H 1, B 2, DW 3
    input  wire              req_store,     // 1: ST/STX, 0: LDX
    input  wire [63:0]       req_wdata,     // store value (low size bytes are stored)
    input  wire [15:0]       data_pos,      // data (position: frame byte 0 is NIC_HEADROOM)
    input  wire [15:0]       end_pos,       // data_end (position)
    output reg  [3:0]        req_err,       // `EXEC_ERR_*; EXEC_ERR_NONE when the access may go ahead
    output wire              req_ctx,       // the address is in the context region
    output wire              req_pkt,       // ... in the packet region
    output wire              req_stack,     // ... in the stack region
    output wire [WORD_W-1:0] req_word,      // first 64-bit word touched (packet or stack word index)
    output wire [WORD_W-1:0] req_pkt_word,  // req_word and req_word + 1 if the access is to the
    output wire [WORD_W-1:0] req_pkt_word1, //   packet ...
    output wire [5:0]        req_stk_word,  // ... or to the stack: each ready before the region
    output wire [5:0]        req_stk_word1, //   decode (valid when req_pkt / req_stack says so)
    output wire [2:0]        req_lane,      // first byte touched inside req_word
    output wire              req_span,      // the access also touches word req_word + 1
    output wire [127:0]      req_line_data, // store bytes on the lanes of {word + 1, word}
    output wire [15:0]       req_line_be,   // store byte enables, same lanes
    output reg  [31:0]       req_ctx_data,  // value of the addressed xdp_md field (context loads)

    // response
    input  wire [127:0]      rsp_line,      // {word w+1, word w} as read
    input  wire [2:0]        rsp_lane,      // req_lane of the access
    input  wire [1:0]        rsp_size,      // req_size of the access
    input  wire              rsp_signed,    // MEMSX: sign-extend from the access size
    output reg  [63:0]       rsp_data       // value for the destination register
);

`ifdef JITNIC_MAP_BASE
localparam [31:0] MAP_BASE = `JITNIC_MAP_BASE;
`else
localparam [31:0] MAP_BASE = 32'h4000_0000;   // jit/memmap.py MAP_BASE: end of the stack region
`endif

localparam [31:0] CTX_BASE = `JITNIC_CTX_BASE;
localparam [31:0] PKT_BASE = `JITNIC_PKT_BASE;
localparam [31:0] PKT_DATA = `JITNIC_PKT_DATA;
localparam [31:0] HEAD = `JITNIC_NIC_HEADROOM;
localparam [31:0] PKT_POS0 = PKT_DATA - HEAD;              // address of position 0
localparam [31:0] STACK_BASE = `JITNIC_STACK_BASE;
localparam [31:0] STACK_SIZE = `JITNIC_STACK_SIZE;
localparam [31:0] CTX_SIZE = `JITNIC_CTX_SIZE;
localparam [31:0] HDR_LIMIT = HDR_BYTES;
localparam [31:0] PKT_LIMIT = PKT_BYTES;

initial begin
    if (HDR_BYTES < 8 || HDR_BYTES % 8 != 0 || HDR_BYTES > PKT_BYTES) begin
        $display("Error: HDR_BYTES must be a multiple of 8 in 8..PKT_BYTES (instance %m)");
        $finish;
    end
    if (STACK_SIZE != 512 || STACK_BASE[8:0] != 9'd0 || CTX_BASE[4:0] != 5'd0 || CTX_SIZE > 32
        || PKT_POS0[2:0] != 3'd0) begin
        $display("Error: memory map alignment assumed by the address decode does not hold (instance %m)");
        $finish;
    end
    if (WORD_W < 6 || (`JITNIC_NIC_HEADROOM + PKT_BYTES + 7) / 8 > (1 << WORD_W)) begin
        $display("Error: WORD_W too narrow for the stack or the packet buffer (instance %m)");
        $finish;
    end
end

// ---- request ----
// Timing: nothing below waits for the full address unless it must. The region decode needs the
// 32-bit sum a = base + off and whether bits 63:32 of the 64-bit sum are 0 (`low4g`, from the high
// half's equalities and the low half's carry, not a 64-bit carry chain). Packet positions, stack
// words and the bound checks come from narrow sums of the base register's low bits and offsets
// adjusted at decode (off - PKT_POS0, + nbytes), computed beside the 32-bit sum, and each is
// exact where it is used (a range check on `a` says so).
reg [3:0] nbytes;
reg [7:0] be8;
always @* begin
    case (req_size)
        2'd0:    begin nbytes = 4'd4; be8 = 8'h0f; end
        2'd1:    begin nbytes = 4'd2; be8 = 8'h03; end
        2'd2:    begin nbytes = 4'd1; be8 = 8'h01; end
        default: begin nbytes = 4'd8; be8 = 8'hff; end
    endcase
end

wire [31:0] off32 = {{16{req_off[15]}}, req_off};
wire [32:0] sum_lo = {1'b0, req_base[31:0]} + {1'b0, off32};
wire [31:0] a = sum_lo[31:0];
wire        c32 = sum_lo[32];
wire [31:0] base_hi = req_base[63:32];
// bits 63:32 of base + sext(off) are base_hi + (off < 0 ? -1 : 0) + c32
wire        low4g = req_off[15] ? (c32 ? base_hi == 32'd0 : base_hi == 32'd1)
                                : (c32 ? base_hi == 32'hffff_ffff : base_hi == 32'd0);

assign req_ctx = low4g && a >= CTX_BASE && a < PKT_BASE;
assign req_pkt = low4g && a >= PKT_BASE && a < STACK_BASE;
assign req_stack = low4g && a >= STACK_BASE && a < MAP_BASE;

// packet: positions as narrow sums, exact while a is in [PKT_POS0, PKT_POS0 + 2^POS_W) (POS_W
// covers the head margin and the buffer, so an access outside that range fails the bounds anyway)
localparam integer POS_W = WORD_W + 3;
localparam [31:0]  POS_TOP = PKT_POS0 + (32'd1 << POS_W);
wire [POS_W:0]   pos_adj = off32[POS_W:0] - PKT_POS0[POS_W:0];
wire [POS_W-1:0] pos = req_base[POS_W-1:0] + pos_adj[POS_W-1:0];            // a - PKT_POS0
wire [POS_W:0]   pos_end = req_base[POS_W:0] + pos_adj + {{(POS_W-3){1'b0}}, nbytes};
wire             pos_exact = a >= PKT_POS0 && a < POS_TOP;
wire [31:0]      pos32 = {{(32-POS_W){1'b0}}, pos};
wire [31:0]      pos_end32 = {{(31-POS_W){1'b0}}, pos_end};

// stack: STACK_BASE is aligned to 2^STK_W = STACK_SIZE (checked above), so the stack offset is
// a's low bits while a[31:STK_W] matches (the low bits of a's carry chain come first)
localparam integer STK_W = 9;
wire [STK_W:0]   stk_end = {1'b0, a[STK_W-1:0]} + {{(STK_W-3){1'b0}}, nbytes};
wire             stk_page = a[31:STK_W] == STACK_BASE[31:STK_W];
wire [WORD_W-1:0] stk_word = a[WORD_W+2:3] - STACK_BASE[WORD_W+2:3];

// context: CTX_BASE is aligned to 32 >= CTX_SIZE (checked above)
wire [4:0] ctx_off = a[4:0];
wire ctx_ok = !req_store && req_size == 2'd0 && a[31:5] == CTX_BASE[31:5] && {27'd0, ctx_off} < CTX_SIZE
              && ctx_off[1:0] == 2'b00;
wire pkt_in = pos_exact && {16'd0, data_pos} <= pos32 && pos_end32 <= {16'd0, end_pos}
              && pos_end32 <= HEAD + PKT_LIMIT;
wire pkt_win = pos_end32 <= HEAD + HDR_LIMIT;
wire stk_in = stk_page && {{(31-STK_W){1'b0}}, stk_end} <= STACK_SIZE;

always @* begin
    if (req_ctx) begin
        req_err = ctx_ok ? `EXEC_ERR_NONE : `EXEC_ERR_CTX_ACCESS;
    end else if (req_pkt) begin
        if (!pkt_in) begin
            req_err = `EXEC_ERR_PKT_BOUNDS;
        end else if (req_store && !pkt_win) begin
            req_err = `EXEC_ERR_STORE_WINDOW;
        end else begin
            req_err = `EXEC_ERR_NONE;
        end
    end else if (req_stack) begin
        req_err = stk_in ? `EXEC_ERR_NONE : `EXEC_ERR_STACK_BOUNDS;
    end else begin
        req_err = `EXEC_ERR_BAD_ADDRESS;
    end
end

// lane: PKT_POS0 and STACK_BASE are multiples of 8, so it is a's low bits in either region
assign req_lane = a[2:0];
assign req_span = {1'b0, req_lane} + nbytes > 4'd8;
assign req_pkt_word = pos[POS_W-1:3];
assign req_pkt_word1 = req_pkt_word + 1'b1;
assign req_stk_word = a[8:3];
assign req_stk_word1 = a[8:3] + 6'd1;
assign req_word = req_stack ? stk_word : req_pkt_word;

wire [63:0] wmask = {{8{be8[7]}}, {8{be8[6]}}, {8{be8[5]}}, {8{be8[4]}},
                     {8{be8[3]}}, {8{be8[2]}}, {8{be8[1]}}, {8{be8[0]}}};
assign req_line_data = {64'd0, req_wdata & wmask} << {req_lane, 3'b000};
assign req_line_be = {8'd0, be8} << req_lane;

always @* begin
    case (ctx_off)
        `JITNIC_CTX_OFF_DATA:            req_ctx_data = PKT_POS0 + {16'd0, data_pos};
        `JITNIC_CTX_OFF_DATA_END:        req_ctx_data = PKT_POS0 + {16'd0, end_pos};
        `JITNIC_CTX_OFF_DATA_META:       req_ctx_data = PKT_POS0 + {16'd0, data_pos};   // no metadata
        `JITNIC_CTX_OFF_INGRESS_IFINDEX: req_ctx_data = 32'd1;   // docs/abi.md: ingress_ifindex = 1
        default:                         req_ctx_data = 32'd0;   // rx_queue_index, egress_ifindex
    endcase
end

// ---- response ----
wire [63:0] v = rsp_line[{1'b0, rsp_lane, 3'b000} +: 64];
always @* begin
    case (rsp_size)
        2'd0:    rsp_data = {{32{rsp_signed & v[31]}}, v[31:0]};
        2'd1:    rsp_data = {{48{rsp_signed & v[15]}}, v[15:0]};
        2'd2:    rsp_data = {{56{rsp_signed & v[7]}}, v[7:0]};
        default: rsp_data = v;
    endcase
end

endmodule

`resetall
