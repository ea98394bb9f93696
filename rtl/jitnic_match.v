`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC condition match: the condition table, all entries x all atoms in parallel, first-match priority.

`include "jitnic_abi.vh"

/*
 * The table holds, per entry, MAX_ATOMS atoms and the number of atoms in use; validity comes from
 * outside (entry_valid). A lookup evaluates every atom of every entry at once (docs/abi.md atom
 * semantics: masked packet field or frame length, unsigned or signed compare) in two registered
 * stages: atom results, then entry AND + priority encoder. lookup_done pulses two cycles after
 * lookup_start; the inputs (window, length, entry_valid) must be stable for those two cycles.
 */
module jitnic_match #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // atoms per entry condition
    parameter MAX_ATOMS = 16,
    // header window bytes (atoms only read the window)
    parameter HDR_BYTES = 128,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1,
    // width of an atom count 0..MAX_ATOMS (derived, do not override)
    parameter NATOMS_W = $clog2(MAX_ATOMS + 1)
) (
    input  wire                       clk,
    input  wire                       rst,

    // table write: entry wr_index gets the raw staging words of MAX_ATOMS atoms (atom i word w at
    // bits [96*i+32*w +: 32], words ctrl, mask, const) of which the first wr_natoms are in use
    input  wire                       wr_en,
    input  wire [IDX_W-1:0]           wr_index,
    input  wire [NATOMS_W-1:0]        wr_natoms,
    input  wire [MAX_ATOMS*96-1:0]    wr_atoms,

    // valid bit of each entry (an invalid entry never matches)
    input  wire [N_ENTRIES-1:0]       entry_valid,

    // lookup: window byte k at bits [8k+7:8k], zero past the frame; frame length in bytes
    input  wire                       lookup_start,
    input  wire [HDR_BYTES*8-1:0]     lookup_hdr,
    input  wire [15:0]                lookup_len,
    output wire                       lookup_done,
    output wire                       lookup_hit,
    output wire [IDX_W-1:0]           lookup_index,
    output wire [N_ENTRIES-1:0]       lookup_vector
);

localparam OFF_W = $clog2(HDR_BYTES);

// window with three zero bytes above it, so a 4-byte read at any in-window offset is in range
wire [HDR_BYTES*8+23:0] win_pad = {24'd0, lookup_hdr};

// stage 1: one result bit per (entry, atom), entry e atom a at bit e*MAX_ATOMS+a
wire [N_ENTRIES*MAX_ATOMS-1:0] atom_ok;
reg  [N_ENTRIES*MAX_ATOMS-1:0] atom_ok_reg;
wire [N_ENTRIES*MAX_ATOMS-1:0] atom_en;
reg                            stage1_reg;

genvar e, a;
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
            reg [3:0]       op_reg;
            reg [1:0]       wcode_reg;
            reg             be_reg;
            reg             kind_reg;
            reg [OFF_W-1:0] off_reg;
            reg [31:0]      mask_reg;
            reg [31:0]      const_reg;

            /* verilator lint_off UNUSEDSIGNAL */
            // reserved bits and offset bits above the window are not kept
            wire [31:0] ctrl_word = wr_atoms[96*a +: 32];
            /* verilator lint_on UNUSEDSIGNAL */

            always @(posedge clk) begin
                if (wr_en && wr_index == e) begin
                    op_reg    <= ctrl_word[`ATOM_OP_LSB +: `ATOM_OP_W];
                    wcode_reg <= ctrl_word[`ATOM_WIDTH_LSB +: `ATOM_WIDTH_W];
                    be_reg    <= ctrl_word[`ATOM_BE_LSB];
                    kind_reg  <= ctrl_word[`ATOM_KIND_LSB];
                    off_reg   <= ctrl_word[`ATOM_OFFSET_LSB +: OFF_W];
                    mask_reg  <= wr_atoms[96*a+32 +: 32];
                    const_reg <= wr_atoms[96*a+64 +: 32];
                end
            end

            // the four window bytes at the offset: b0 at [7:0] .. b3 at [31:24]
            wire [31:0] raw = win_pad[8*off_reg +: 32];
            reg  [31:0] field;
            reg  [31:0] value;
            reg  [31:0] svalue;
            reg         ok;

            always @* begin
                if (kind_reg == `ATOM_KIND_LEN) begin
                    field = {16'd0, lookup_len};
                end else begin
                    case (wcode_reg)
                        `ATOM_WIDTH_1B: field = {24'd0, raw[7:0]};
                        `ATOM_WIDTH_2B: field = be_reg ? {16'd0, raw[7:0], raw[15:8]}
                                                       : {16'd0, raw[15:8], raw[7:0]};
                        default:        field = be_reg ? {raw[7:0], raw[15:8], raw[23:16], raw[31:24]}
                                                       : raw;
                    endcase
                end
                value = field & mask_reg;
                // signed view: sign-extend from the field width (32 bits for the length)
                if (kind_reg == `ATOM_KIND_LEN) begin
                    svalue = value;
                end else begin
                    case (wcode_reg)
                        `ATOM_WIDTH_1B: svalue = {{24{value[7]}}, value[7:0]};
                        `ATOM_WIDTH_2B: svalue = {{16{value[15]}}, value[15:0]};
                        default:        svalue = value;
                    endcase
                end
                case (op_reg)
                    `ATOM_OP_EQ:  ok = value == const_reg;
                    `ATOM_OP_NE:  ok = value != const_reg;
                    `ATOM_OP_LT:  ok = value <  const_reg;
                    `ATOM_OP_LE:  ok = value <= const_reg;
                    `ATOM_OP_GT:  ok = value >  const_reg;
                    `ATOM_OP_GE:  ok = value >= const_reg;
                    `ATOM_OP_SLT: ok = $signed(svalue) <  $signed(const_reg);
                    `ATOM_OP_SLE: ok = $signed(svalue) <= $signed(const_reg);
                    `ATOM_OP_SGT: ok = $signed(svalue) >  $signed(const_reg);
                    `ATOM_OP_SGE: ok = $signed(svalue) >= $signed(const_reg);
                    default:      ok = 1'b0;   // rejected at commit
                endcase
            end

            assign atom_ok[e*MAX_ATOMS+a] = ok;
            assign atom_en[e*MAX_ATOMS+a] = a < natoms_reg;
        end
    end
endgenerate

// stage 2: an entry hits when valid and every atom in use holds; lowest index wins
reg [N_ENTRIES-1:0] hit_vec;
reg [IDX_W-1:0]     hit_index;
reg                 hit_any;

reg [N_ENTRIES-1:0] vector_reg;
reg [IDX_W-1:0]     index_reg;
reg                 hit_reg;
reg                 done_reg;

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
    stage1_reg <= lookup_start;
    done_reg <= stage1_reg;
    if (lookup_start) begin
        atom_ok_reg <= atom_ok;
    end
    if (stage1_reg) begin
        vector_reg <= hit_vec;
        index_reg <= hit_index;
        hit_reg <= hit_any;
    end
    if (rst) begin
        stage1_reg <= 1'b0;
        done_reg <= 1'b0;
        hit_reg <= 1'b0;
        vector_reg <= {N_ENTRIES{1'b0}};
        index_reg <= {IDX_W{1'b0}};
    end
end

assign lookup_done = done_reg;
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
    if (HDR_BYTES < 16 || HDR_BYTES > 4096) begin
        $display("Error: HDR_BYTES must be in 16..4096, got %0d (instance %m)", HDR_BYTES);
        $finish;
    end
end

endmodule

`resetall
