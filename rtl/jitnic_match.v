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
 *   2. compare: every atom of every entry compares (its slot's field, or the length) & mask with
 *      its constant, unsigned or sign-extended (docs/abi.md);
 *   3. entry AND (atoms in use, valid bit) and priority encoder.
 *
 * Atoms name their slot (wr_slots) when the entry is written; the slot's field and the atom's own
 * offset/width/order are the same by construction (jit/nic/validate.py allocate_slots).
 */
module jitnic_match #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // atoms per entry condition
    parameter MAX_ATOMS = 16,
    // header window bytes (atoms only read the window); multiple of 8
    parameter HDR_BYTES = 128,
    // field extractor slots shared by all entries, 1..64
    parameter N_SLOTS = `JITNIC_N_SLOTS,
    // width of the tag carried from lookup_start to lookup_done (the engine's frame id)
    parameter TAG_W = 1,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1,
    // width of an atom count 0..MAX_ATOMS (derived, do not override)
    parameter NATOMS_W = $clog2(MAX_ATOMS + 1),
    // slot index width (derived, do not override)
    parameter SIDX_W = N_SLOTS > 1 ? $clog2(N_SLOTS) : 1
) (
    input  wire                       clk,
    input  wire                       rst,

    // table write: entry wr_index gets the raw staging words of MAX_ATOMS atoms (atom i word w at
    // bits [96*i+32*w +: 32], words ctrl, mask, const) of which the first wr_natoms are in use;
    // packet atom i reads extractor slot wr_slots[SIDX_W*i +: SIDX_W]
    input  wire                       wr_en,
    input  wire [IDX_W-1:0]           wr_index,
    input  wire [NATOMS_W-1:0]        wr_natoms,
    input  wire [MAX_ATOMS*96-1:0]    wr_atoms,
    input  wire [MAX_ATOMS*SIDX_W-1:0] wr_slots,

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

// Each stage computes inside its enabled register write (not in `always @*` logic beside it): the
// same multiplexers and comparators in hardware, but Verilator, which evaluates combinational
// logic on every clock edge, then runs them only in the cycle a lookup passes (the extractors and
// atoms were most of the end-to-end bench's simulation time; docs/bench.md).
genvar e, a, k;
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

// ---- stage 2: atoms -----------------------------------------------------------------------------
// one result bit per (entry, atom), entry e atom a at bit e*MAX_ATOMS+a (each atom's register)
wire [N_ENTRIES*MAX_ATOMS-1:0] atom_ok_reg;
wire [N_ENTRIES*MAX_ATOMS-1:0] atom_en;
reg  [TAG_W-1:0]               tag2_reg;
reg                            v2_reg;

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

// extractor output s of the registered outputs x (a tree, as win_word)
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

// an atom's compare of value (its field or the length, masked): signed compares sign-extend from
// the field width, then flip the sign bit so that one unsigned compare orders signed values
function atom_holds(input [31:0] value, input [2:0] cmp, input is_signed, input [1:0] wcode,
                    input [31:0] const_flipped);
    reg        sign;
    reg [31:0] cmp_a;
    reg        eq, lt;
    begin
        case (wcode)
            `ATOM_WIDTH_1B: sign = value[7];
            `ATOM_WIDTH_2B: sign = value[15];
            default:        sign = value[31];
        endcase
        if (!is_signed) begin
            cmp_a = value;
        end else begin
            case (wcode)
                `ATOM_WIDTH_1B: cmp_a = {!sign, {23{sign}}, value[7:0]};
                `ATOM_WIDTH_2B: cmp_a = {!sign, {15{sign}}, value[15:0]};
                default:        cmp_a = {!sign, value[30:0]};
            endcase
        end
        eq = cmp_a == const_flipped;
        lt = cmp_a < const_flipped;
        case (cmp)
            CMP_EQ:  atom_holds = eq;
            CMP_NE:  atom_holds = !eq;
            CMP_LT:  atom_holds = lt;
            CMP_LE:  atom_holds = lt || eq;
            CMP_GT:  atom_holds = !lt && !eq;
            CMP_GE:  atom_holds = !lt;
            default: atom_holds = 1'b0;
        endcase
    end
endfunction

generate
    for (e = 0; e < N_ENTRIES; e = e + 1) begin : g_entry
        reg [NATOMS_W-1:0] natoms_reg;

        always @(posedge clk) begin
            if (wr_en && wr_index == e) begin
                natoms_reg <= wr_natoms;
            end
            if (rst) begin
                natoms_reg <= {NATOMS_W{1'b0}};
            end
        end

        for (a = 0; a < MAX_ATOMS; a = a + 1) begin : g_atom
            reg [2:0]        cmp_reg;
            reg              signed_reg;
            reg [1:0]        wcode_reg;      // sign bit position (length: 4 bytes)
            reg              kind_reg;
            reg [SIDX_W-1:0] slot_reg;
            reg [31:0]       mask_reg;
            reg [31:0]       const_reg;      // signed compares: sign bit flipped

            /* verilator lint_off UNUSEDSIGNAL */
            // reserved bits and the field bits (the slot holds the field) are not kept
            wire [31:0] ctrl_word = wr_atoms[96*a +: 32];
            /* verilator lint_on UNUSEDSIGNAL */
            wire [3:0]  op = ctrl_word[`ATOM_OP_LSB +: `ATOM_OP_W];
            wire        is_signed = op >= `ATOM_OP_SLT;
            wire        is_len = ctrl_word[`ATOM_KIND_LSB] == `ATOM_KIND_LEN;

            always @(posedge clk) begin
                if (wr_en && wr_index == e) begin
                    cmp_reg    <= cmp_of(op);
                    signed_reg <= is_signed;
                    wcode_reg  <= is_len ? `ATOM_WIDTH_4B : ctrl_word[`ATOM_WIDTH_LSB +: `ATOM_WIDTH_W];
                    kind_reg   <= is_len;
                    slot_reg   <= wr_slots[SIDX_W*a +: SIDX_W];
                    mask_reg   <= wr_atoms[96*a+32 +: 32];
                    const_reg  <= wr_atoms[96*a+64 +: 32] ^ {is_signed, 31'd0};
                end
            end

            reg ok_reg;

            always @(posedge clk) begin
                if (v1_reg) begin
                    ok_reg <= atom_holds((kind_reg ? {16'd0, len1_reg} : slot_value(ext_reg, slot_reg))
                                         & mask_reg, cmp_reg, signed_reg, wcode_reg, const_reg);
                end
            end

            assign atom_ok_reg[e*MAX_ATOMS+a] = ok_reg;
            assign atom_en[e*MAX_ATOMS+a] = a < natoms_reg;
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
        hit_vec[i] = entry_valid[i] &&
                     &(atom_ok_reg[i*MAX_ATOMS +: MAX_ATOMS] | ~atom_en[i*MAX_ATOMS +: MAX_ATOMS]);
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
    if (MAX_ATOMS < 1 || MAX_ATOMS > 256) begin
        $display("Error: MAX_ATOMS must be in 1..256, got %0d (instance %m)", MAX_ATOMS);
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
