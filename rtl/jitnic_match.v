`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC condition match: field extractor slots, the condition table, a pipelined parallel lookup.

`include "jitnic_abi.vh"

/*
 * Interface (for the packet engine):
 *
 *   lookup_start  one lookup per cycle may start: lookup_hdr (window byte k at bits [8k+7:8k],
 *                 zero past the frame), lookup_len and lookup_tag are read in that cycle only.
 *   lookup_done   exactly LATENCY (3) cycles after its lookup_start, with that lookup's
 *                 lookup_done_tag, lookup_hit, lookup_index (lowest matching entry) and
 *                 lookup_vector (every matching entry: bit e = entry e valid and all its atoms
 *                 hold). The results hold their value until the next lookup_done.
 *   Lookups in flight see the table (atoms, slot fields) and entry_valid of the cycles they pass
 *   through: whoever writes the table (the commit engine) waits until no lookup is in flight
 *   (the engine is idle) and starts none during the write.
 *
 * Pipeline (all stages registered, one lookup per cycle):
 *   1. extract: each of the N_SLOTS field extractors reads its field (offset, 1/2/4 bytes, byte
 *      order; slot_fields, configured by the commit engine) out of the window: an aligned 32-bit
 *      word pair and a byte rotation, not a byte multiplexer per atom;
 *   2. compare: every compare cell of every entry compares its input & mask with its constant,
 *      unsigned or sign-extended (docs/abi.md);
 *   3. entry AND (cells in use, valid bit) and priority encoder.
 *
 * Compare cells (docs/rtl.md "Compare cells"): each entry has N_CELLS = N_SLOTS + N_LEN_ATOMS +
 * N_GEN_ATOMS cells. Cell k < N_SLOTS reads extractor k directly, the next N_LEN_ATOMS cells read
 * the frame length, and the last N_GEN_ATOMS (general atoms) read any slot or the length through
 * a multiplexer each. An atom per cell; a cell not in use holds. The commit engine places the
 * atoms (jit/nic/validate.py place_atoms) and writes them one per cycle over one shared bus, so a
 * cell needs no write-time multiplexer. The slot's field and the atom's own offset/width/order are
 * the same by construction (jit/nic/validate.py allocate_slots).
 */
module jitnic_match #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // header window bytes (atoms only read the window); multiple of 8
    parameter HDR_BYTES = 128,
    // field extractor slots shared by all entries, 1..64 (and one compare cell each per entry)
    parameter N_SLOTS = `JITNIC_N_SLOTS,
    // per entry: cells that compare the frame length, 0..16
    parameter N_LEN_ATOMS = `JITNIC_N_LEN_ATOMS,
    // per entry: general atoms (any slot or the length), 0..64; N_LEN_ATOMS + N_GEN_ATOMS >= 1
    parameter N_GEN_ATOMS = `JITNIC_N_GEN_ATOMS,
    // width of the tag carried from lookup_start to lookup_done (the engine's frame id)
    parameter TAG_W = 1,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1,
    // slot index width (derived, do not override)
    parameter SIDX_W = N_SLOTS > 1 ? $clog2(N_SLOTS) : 1,
    // compare cells per entry and the width of a cell number (derived, do not override)
    parameter N_CELLS = N_SLOTS + N_LEN_ATOMS + N_GEN_ATOMS,
    parameter CELL_W = N_CELLS > 1 ? $clog2(N_CELLS) : 1
) (
    input  wire                       clk,
    input  wire                       rst,

    // table write, one step per cycle: wr_clear takes every cell of entry wr_index out of use (an
    // entry's write starts with it); wr_atom writes the atom words wr_atom_words (ctrl, mask,
    // const at [32w +: 32]) into cell wr_cell of entry wr_index and puts it in use; a general
    // atom's packet field reads extractor slot wr_slot
    input  wire                       wr_clear,
    input  wire                       wr_atom,
    input  wire [IDX_W-1:0]           wr_index,
    input  wire [CELL_W-1:0]          wr_cell,
    input  wire [SIDX_W-1:0]          wr_slot,
    input  wire [95:0]                wr_atom_words,

    // extractor slot k's field at [32k +: 32], in the atom control word's layout (offset, width,
    // byte order; other bits ignored)
    input  wire [N_SLOTS*32-1:0]      slot_fields,

    // valid bit of each entry (an invalid entry never matches); read in stage 3
    input  wire [N_ENTRIES-1:0]       entry_valid,

    // lookup pipeline (see above)
    input  wire                       lookup_start,
    input  wire [HDR_BYTES*8-1:0]     lookup_hdr,
    input  wire [15:0]                lookup_len,
    input  wire [TAG_W-1:0]           lookup_tag,
    output wire                       lookup_done,
    output wire [TAG_W-1:0]           lookup_done_tag,
    output wire                       lookup_hit,
    output wire [IDX_W-1:0]           lookup_index,
    output wire [N_ENTRIES-1:0]       lookup_vector
);

localparam OFF_W = $clog2(HDR_BYTES);
localparam N_WORDS = HDR_BYTES / 4;                      // 32-bit window words
localparam WIDX_W = $clog2(N_WORDS);
localparam WORDS_P2 = 1 << WIDX_W;
localparam SLOTS_P2 = 1 << SIDX_W;

// ---- stage 1: field extractors ------------------------------------------------------------------
reg  [N_SLOTS*32-1:0] ext_reg;
reg  [15:0]           len1_reg;
reg  [TAG_W-1:0]      tag1_reg;
reg                   v1_reg;

// Word selects are binary trees of 2:1 multiplexers, one level per select bit: yosys maps an
// `if (i == p)` loop over the inputs as a chain of as many multiplexers per bit, which cost the
// extractors ~1.8k LUTs each and every atom ~480 (docs/rtl.md "Area and timing").

// 32-bit word i of the window w (words past the window read 0); w is an argument so that
// simulators see every input of the caller
function [31:0] win_word(input [HDR_BYTES*8-1:0] w, input [WIDX_W-1:0] i);
    reg [WORDS_P2*32-1:0] t;
    integer lv, p;
    begin
        t = {WORDS_P2*32{1'b0}};
        t[HDR_BYTES*8-1:0] = w;
        for (lv = 0; lv < WIDX_W; lv = lv + 1) begin
            for (p = 0; p < (WORDS_P2 >> (lv + 1)); p = p + 1) begin
                t[32*p +: 32] = i[lv] ? t[32*(2*p+1) +: 32] : t[32*(2*p) +: 32];
            end
        end
        win_word = t[31:0];
    end
endfunction

// extractor field of slot configuration cfg (offset, width, byte order) out of window w: the
// aligned words holding bytes off .. off+3 and the next, a byte rotation, then width and order
// (cfg's other bits, the word index's high bits and the next word's top byte are not used)
/* verilator lint_off UNUSEDSIGNAL */
function [31:0] extract(input [HDR_BYTES*8-1:0] w, input [31:0] cfg);
    reg [OFF_W-1:0]  off;
    reg [1:0]        wcode;
    reg              be;
    reg [OFF_W:0]    wi_wide;
    reg [WIDX_W-1:0] wi;
    reg [31:0]       w_lo, w_hi;
    reg [55:0]       pair;
    reg [31:0]       raw;            // window bytes off .. off+3: b0 at [7:0] .. b3 at [31:24]
    begin
        off = cfg[`ATOM_OFFSET_LSB +: OFF_W];
        wcode = cfg[`ATOM_WIDTH_LSB +: 2];
        be = cfg[`ATOM_BE_LSB];
        wi_wide = {1'b0, off} >> 2;
        wi = wi_wide[WIDX_W-1:0];
        w_lo = win_word(w, wi);
        // word wi + 1: the same select over the window one word down (0 above the window)
        w_hi = win_word({32'd0, w[HDR_BYTES*8-1:32]}, wi);
        pair = {w_hi[23:0], w_lo};
        case (off[1:0])
            2'd0:    raw = pair[31:0];
            2'd1:    raw = pair[39:8];
            2'd2:    raw = pair[47:16];
            default: raw = pair[55:24];
        endcase
        case (wcode)
            `ATOM_WIDTH_1B: extract = {24'd0, raw[7:0]};
            `ATOM_WIDTH_2B: extract = be ? {16'd0, raw[7:0], raw[15:8]} : {16'd0, raw[15:8], raw[7:0]};
            default:        extract = be ? {raw[7:0], raw[15:8], raw[23:16], raw[31:24]} : raw;
        endcase
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// Stages 1 and 2 compute inside their enabled register writes (not in `always @*` logic beside
// them): the same multiplexers and comparators in hardware, but Verilator, which re-evaluates
// combinational logic after every clock edge, then runs them only in the cycle a lookup passes
// (about one in 59 at 64 bits; they were half of the model's time, docs/bench.md).
genvar e, k;
generate
    for (k = 0; k < N_SLOTS; k = k + 1) begin : g_slot
        always @(posedge clk) begin
            if (lookup_start) begin
                ext_reg[32*k +: 32] <= extract(lookup_hdr, slot_fields[32*k +: 32]);
            end
        end
    end
endgenerate

always @(posedge clk) begin
    v1_reg <= lookup_start;
    if (lookup_start) begin
        len1_reg <= lookup_len;
        tag1_reg <= lookup_tag;
    end
    if (rst) begin
        v1_reg <= 1'b0;
    end
end

// ---- stage 2: compare cells -----------------------------------------------------------------------
// one result bit per (entry, cell), entry e cell c at bit e*N_CELLS+c (each cell's register); a
// cell not in use holds
wire [N_ENTRIES*N_CELLS-1:0] cell_ok_reg;
reg  [TAG_W-1:0]             tag2_reg;
reg                          v2_reg;

// an atom's compare, decoded when the entry is written
localparam [2:0] CMP_EQ = 3'd0, CMP_NE = 3'd1, CMP_LT = 3'd2, CMP_LE = 3'd3, CMP_GT = 3'd4,
                 CMP_GE = 3'd5, CMP_NEVER = 3'd6;

function [2:0] cmp_of(input [3:0] op);
    begin
        case (op)
            `ATOM_OP_EQ:                cmp_of = CMP_EQ;
            `ATOM_OP_NE:                cmp_of = CMP_NE;
            `ATOM_OP_LT, `ATOM_OP_SLT:  cmp_of = CMP_LT;
            `ATOM_OP_LE, `ATOM_OP_SLE:  cmp_of = CMP_LE;
            `ATOM_OP_GT, `ATOM_OP_SGT:  cmp_of = CMP_GT;
            `ATOM_OP_GE, `ATOM_OP_SGE:  cmp_of = CMP_GE;
            default:                    cmp_of = CMP_NEVER;   // rejected at commit
        endcase
    end
endfunction

// extractor output s of the registered outputs x (a tree, as win_word): the general atoms' input
function [31:0] slot_value(input [N_SLOTS*32-1:0] x, input [SIDX_W-1:0] s);
    reg [SLOTS_P2*32-1:0] t;
    integer lv, p;
    begin
        t = {SLOTS_P2*32{1'b0}};
        t[N_SLOTS*32-1:0] = x;
        for (lv = 0; lv < SIDX_W; lv = lv + 1) begin
            for (p = 0; p < (SLOTS_P2 >> (lv + 1)); p = p + 1) begin
                t[32*p +: 32] = s[lv] ? t[32*(2*p+1) +: 32] : t[32*(2*p) +: 32];
            end
        end
        slot_value = t[31:0];
    end
endfunction

// (x & mask) OP cst: signed compares sign-extend from the field width (wcode; the length reads
// as 4 bytes) and flip the sign bit, so that one unsigned compare orders signed values (cst comes
// with its sign bit flipped)
function compare(input [31:0] x, input [31:0] mask, input [31:0] cst, input [2:0] cmp,
                 input sgn, input [1:0] wcode);
    reg [31:0] value;
    reg        sign;
    reg [31:0] a;
    reg        eq, lt;
    begin
        value = x & mask;
        case (wcode)
            `ATOM_WIDTH_1B: sign = value[7];
            `ATOM_WIDTH_2B: sign = value[15];
            default:        sign = value[31];
        endcase
        if (!sgn) begin
            a = value;
        end else begin
            case (wcode)
                `ATOM_WIDTH_1B: a = {!sign, {23{sign}}, value[7:0]};
                `ATOM_WIDTH_2B: a = {!sign, {15{sign}}, value[15:0]};
                default:        a = {!sign, value[30:0]};
            endcase
        end
        eq = a == cst;
        lt = a < cst;
        case (cmp)
            CMP_EQ:  compare = eq;
            CMP_NE:  compare = !eq;
            CMP_LT:  compare = lt;
            CMP_LE:  compare = lt || eq;
            CMP_GT:  compare = !lt && !eq;
            CMP_GE:  compare = !lt;
            default: compare = 1'b0;
        endcase
    end
endfunction

// the atom on the write bus, decoded once for every cell
/* verilator lint_off UNUSEDSIGNAL */
// reserved bits and the field bits (the slot holds the field) are not kept
wire [31:0] wr_ctrl = wr_atom_words[31:0];
/* verilator lint_on UNUSEDSIGNAL */
wire [3:0]  wr_op = wr_ctrl[`ATOM_OP_LSB +: `ATOM_OP_W];
wire        wr_signed = wr_op >= `ATOM_OP_SLT;
wire        wr_is_len = wr_ctrl[`ATOM_KIND_LSB] == `ATOM_KIND_LEN;
wire [2:0]  wr_cmp = cmp_of(wr_op);
wire [1:0]  wr_wcode = wr_is_len ? `ATOM_WIDTH_4B : wr_ctrl[`ATOM_WIDTH_LSB +: `ATOM_WIDTH_W];
wire [31:0] wr_mask = wr_atom_words[63:32];
wire [31:0] wr_const = wr_atom_words[95:64] ^ {wr_signed, 31'd0};
wire [31:0] len_value = {16'd0, len1_reg};

genvar c;
generate
    for (e = 0; e < N_ENTRIES; e = e + 1) begin : g_entry
        wire wr_here = wr_index == e;

        for (c = 0; c < N_CELLS; c = c + 1) begin : g_cell
            wire        wr_cell_here = wr_atom && wr_here && wr_cell == c;
            reg         use_reg;
            reg [2:0]   cmp_reg;
            reg         signed_reg;
            reg [1:0]   wcode_reg;      // sign bit position (length: 4 bytes)
            reg [31:0]  mask_reg;
            reg [31:0]  const_reg;      // signed compares: sign bit flipped
            reg         ok_reg;

            always @(posedge clk) begin
                if (wr_clear && wr_here) begin
                    use_reg <= 1'b0;
                end
                if (wr_cell_here) begin
                    use_reg    <= 1'b1;
                    cmp_reg    <= wr_cmp;
                    signed_reg <= wr_signed;
                    wcode_reg  <= wr_wcode;
                    mask_reg   <= wr_mask;
                    const_reg  <= wr_const;
                end
                if (rst) begin
                    use_reg <= 1'b0;
                end
            end

            if (c < N_SLOTS) begin : g_slot_cell
                // slot c's cell: reads extractor c, no multiplexer
                always @(posedge clk) begin
                    if (v1_reg) begin
                        ok_reg <= !use_reg || compare(ext_reg[32*c +: 32], mask_reg, const_reg,
                                                      cmp_reg, signed_reg, wcode_reg);
                    end
                end
            end else if (c < N_SLOTS + N_LEN_ATOMS) begin : g_len_cell
                always @(posedge clk) begin
                    if (v1_reg) begin
                        ok_reg <= !use_reg || compare(len_value, mask_reg, const_reg, cmp_reg,
                                                      signed_reg, wcode_reg);
                    end
                end
            end else begin : g_general
                reg              kind_reg;
                reg [SIDX_W-1:0] slot_reg;
                always @(posedge clk) begin
                    if (wr_cell_here) begin
                        kind_reg <= wr_is_len;
                        slot_reg <= wr_slot;
                    end
                    if (v1_reg) begin
                        ok_reg <= !use_reg || compare(kind_reg ? len_value : slot_value(ext_reg, slot_reg),
                                                      mask_reg, const_reg, cmp_reg, signed_reg,
                                                      wcode_reg);
                    end
                end
            end

            assign cell_ok_reg[e*N_CELLS+c] = ok_reg;
        end
    end
endgenerate

always @(posedge clk) begin
    v2_reg <= v1_reg;
    if (v1_reg) begin
        tag2_reg <= tag1_reg;
    end
    if (rst) begin
        v2_reg <= 1'b0;
    end
end

// ---- stage 3: an entry hits when valid and every atom in use holds; lowest index wins -----------
reg [N_ENTRIES-1:0] hit_vec;
reg [IDX_W-1:0]     hit_index;
reg                 hit_any;

reg [N_ENTRIES-1:0] vector_reg;
reg [IDX_W-1:0]     index_reg;
reg                 hit_reg;
reg                 done_reg;
reg [TAG_W-1:0]     tag3_reg;

integer i;

always @* begin
    for (i = 0; i < N_ENTRIES; i = i + 1) begin
        hit_vec[i] = entry_valid[i] && &cell_ok_reg[i*N_CELLS +: N_CELLS];
    end
    hit_any = |hit_vec;
    hit_index = {IDX_W{1'b0}};
    for (i = N_ENTRIES - 1; i >= 0; i = i - 1) begin
        if (hit_vec[i]) begin
            hit_index = i[IDX_W-1:0];
        end
    end
end

always @(posedge clk) begin
    done_reg <= v2_reg;
    if (v2_reg) begin
        vector_reg <= hit_vec;
        index_reg <= hit_index;
        hit_reg <= hit_any;
        tag3_reg <= tag2_reg;
    end
    if (rst) begin
        done_reg <= 1'b0;
        hit_reg <= 1'b0;
        vector_reg <= {N_ENTRIES{1'b0}};
        index_reg <= {IDX_W{1'b0}};
        tag3_reg <= {TAG_W{1'b0}};
    end
end

assign lookup_done = done_reg;
assign lookup_done_tag = tag3_reg;
assign lookup_hit = hit_reg;
assign lookup_index = index_reg;
assign lookup_vector = vector_reg;

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
    if (N_LEN_ATOMS < 0 || N_LEN_ATOMS > 16 || N_GEN_ATOMS < 0 || N_GEN_ATOMS > 64 ||
        N_LEN_ATOMS + N_GEN_ATOMS < 1) begin
        $display("Error: N_LEN_ATOMS must be in 0..16 and N_GEN_ATOMS in 0..64, at least one cell for length atoms, got %0d, %0d (instance %m)",
                 N_LEN_ATOMS, N_GEN_ATOMS);
        $finish;
    end
    if (HDR_BYTES < 16 || HDR_BYTES > 4096 || HDR_BYTES % 8 != 0) begin
        $display("Error: HDR_BYTES must be a multiple of 8 in 16..4096, got %0d (instance %m)", HDR_BYTES);
        $finish;
    end
    if (N_SLOTS < 1 || N_SLOTS > 64) begin
        $display("Error: N_SLOTS must be in 1..64, got %0d (instance %m)", N_SLOTS);
        $finish;
    end
end

endmodule

`resetall
