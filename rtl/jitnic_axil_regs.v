`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC control block: AXI4-Lite registers, staging area, counters, commit validation and install.

`include "jitnic_abi.vh"

/*
 * Register map and commit rules: docs/abi.md. The staging trace is a RAM (one 64-bit word per slot,
 * byte-enabled so the lo/hi 32-bit words and WSTRB work); staging atoms, counters and per-entry hit
 * counters are registers. The entry valid bits live here too.
 *
 * CTRL.COMMIT starts the commit engine: the checks (TOO_MANY_ATOMS, per atom BAD_ATOM/ATOM_WINDOW,
 * BAD_TRACE_LEN: one cycle; then a scan of the staged slots, one slot per cycle: BAD_OPCODE unless
 * the executor runs the slot (trace format v2: jumps, calls, atomics), BAD_CALL for a helper the
 * RTL executor does not implement, EXEC_BUDGET once the budgeted cycles pass EXEC_BUDGET, BAD_JUMP
 * for a jump that is not forward to at most the trace length (the guard exit) or lands on an
 * LD_IMM64's second slot (a bit per slot remembers the targets seen), LD_IMM64 completeness,
 * NO_EXIT; the slot rules come generated from jit/nic/validate.py; its static write-buffer count
 * (WB_OVERFLOW) stays host-side), then the engine
 * raises engine_hold and waits for engine_idle (the packet engine is between frames and starts no
 * new lookup while held), picks the victim (lowest invalid entry, else the policy's), assigns each
 * packet atom an extractor slot and places every atom in a compare cell of the victim (one atom per
 * cycle, jit/nic/validate.py plan_entry: share a slot in use with the same field, else take the
 * lowest free one; the slots only the victim used count as free; SLOTS_FULL when none is left; then
 * the cell of the atom's slot if no earlier atom took it, for a length atom the next length cell,
 * else the next general atom; CELLS_FULL when none is left; after an error nothing changes), then
 * clears the victim's valid bit and its cells, configures the new slots, writes the atoms into
 * their cells (one per cycle), copies the trace (one slot per cycle), sets it valid and fills the
 * policy. A slot is in use while a valid entry's atoms read it
 * (each entry keeps the set of slots it uses). CTRL.INVALIDATE_ALL also waits for engine_idle. While the commit engine is busy, AXI
 * writes are not accepted (AWREADY/WREADY low), so the staging area cannot change under it;
 * reads still work (STATUS.BUSY can be polled) except while the engine reads the staging RAM.
 * A CTRL write with both INVALIDATE_ALL and COMMIT invalidates first, then commits.
 * RVALID and BVALID are registered after their handshakes.
 */
module jitnic_axil_regs #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // atoms per entry condition, 1..256
    parameter MAX_ATOMS = 16,
    // trace slots per entry, 2..1024
    parameter MAX_TRACE_LEN = 64,
    // header window bytes (reported in CFG_HDR_BYTES, bounds atom offsets)
    parameter HDR_BYTES = 128,
    // packet buffer bytes (reported in CFG_PKT_BYTES)
    parameter PKT_BYTES = 2048,
    // budgeted executor cycles per trace (jit/nic/validate.py); longer traces are refused
    parameter EXEC_BUDGET = `JITNIC_EXEC_BUDGET,
    // replacement policy code reported in CFG_POLICY (`POLICY_*)
    parameter POLICY_CODE = 0,
    // field extractor slots shared by all entries, 1..64
    parameter N_SLOTS = `JITNIC_N_SLOTS,
    // per entry: length cells (0..16) and general atoms (0..64) of jitnic_match
    parameter N_LEN_ATOMS = `JITNIC_N_LEN_ATOMS,
    parameter N_GEN_ATOMS = `JITNIC_N_GEN_ATOMS,
    // AXI4-Lite address width (the map uses 16 bits)
    parameter ADDR_W = `JITNIC_AXIL_ADDR_WIDTH,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1,
    // trace slot index width (derived, do not override)
    parameter SLOT_W = $clog2(MAX_TRACE_LEN),
    // width of an atom count 0..MAX_ATOMS (derived, do not override)
    parameter NATOMS_W = $clog2(MAX_ATOMS + 1),
    // extractor slot index width (derived, do not override)
    parameter SIDX_W = N_SLOTS > 1 ? $clog2(N_SLOTS) : 1,
    // compare cells per entry and the width of a cell number (derived, do not override)
    parameter N_CELLS = N_SLOTS + N_LEN_ATOMS + N_GEN_ATOMS,
    parameter CELL_W = N_CELLS > 1 ? $clog2(N_CELLS) : 1
) (
    input  wire                     clk,
    input  wire                     rst,

    // AXI4-Lite slave
    input  wire [ADDR_W-1:0]        s_axil_awaddr,
    input  wire [2:0]               s_axil_awprot,
    input  wire                     s_axil_awvalid,
    output wire                     s_axil_awready,
    input  wire [31:0]              s_axil_wdata,
    input  wire [3:0]               s_axil_wstrb,
    input  wire                     s_axil_wvalid,
    output wire                     s_axil_wready,
    output wire [1:0]               s_axil_bresp,
    output wire                     s_axil_bvalid,
    input  wire                     s_axil_bready,
    input  wire [ADDR_W-1:0]        s_axil_araddr,
    input  wire [2:0]               s_axil_arprot,
    input  wire                     s_axil_arvalid,
    output wire                     s_axil_arready,
    output wire [31:0]              s_axil_rdata,
    output wire [1:0]               s_axil_rresp,
    output wire                     s_axil_rvalid,
    input  wire                     s_axil_rready,

    // entry write (to jitnic_match): entry_wr_en starts the write of entry entry_wr_index (its
    // cells go out of use, its trace length is written); then one atom per cycle: atom_wr_en
    // writes the raw staging words atom_wr_words (ctrl, mask, const) into cell atom_wr_cell, a
    // general atom reading extractor slot atom_wr_slot
    output wire                     entry_wr_en,
    output wire [IDX_W-1:0]         entry_wr_index,
    output wire                     atom_wr_en,
    output wire [CELL_W-1:0]        atom_wr_cell,
    output wire [SIDX_W-1:0]        atom_wr_slot,
    output wire [95:0]              atom_wr_words,
    // extractor slot k's field at [32k +: 32] (atom control word layout), for jitnic_match
    output wire [N_SLOTS*32-1:0]    slot_fields,
    // the installed entry's trace length in slots (valid with entry_wr_en; the executor's
    // guard exit: a jump to slot trace_len fails the guard)
    output wire [SLOT_W:0]          entry_wr_trace_len,
    // trace RAM write port, address {entry, slot}
    output wire                     trace_wr_en,
    output wire [IDX_W+SLOT_W-1:0]  trace_wr_addr,
    output wire [63:0]              trace_wr_data,
    // entry valid bits
    output wire [N_ENTRIES-1:0]     entry_valid,

    // packet engine: hold (start no new frame) / idle (no frame being matched or executed)
    output wire                     engine_hold,
    input  wire                     engine_idle,

    // replacement policy
    output wire                     pol_fill_valid,
    output wire [IDX_W-1:0]         pol_fill_index,
    output wire                     pol_fill_evict,
    output wire                     pol_invalidate_all,
    output wire                     pol_seed_valid,
    output wire [31:0]              pol_seed,
    input  wire [IDX_W-1:0]         pol_victim,

    // counter events: one-cycle pulses per `CNT_* index; EXEC_CYCLES adds cnt_exec_cycles,
    // MAP_OPS adds cnt_map_ops
    input  wire [`N_COUNTERS-1:0]   cnt_inc,
    input  wire [31:0]              cnt_exec_cycles,
    input  wire [15:0]              cnt_map_ops,

    // REG_PRANDOM_SEED, loaded into the NIC's prandom LFSR with pol_seed_valid (CTRL_RESEED)
    output wire [31:0]              prandom_seed,
    // a frame hit entry hit_index
    input  wire                     hit_valid,
    input  wire [IDX_W-1:0]         hit_index,

    // map region (REG_MAP_REGION..+MAP_REGION_BYTES): forwarded to jitnic_maps' register port;
    // map_reg_rdata is valid the cycle after map_reg_rd; writes wait while map_busy
    output wire                     map_reg_wr,
    output wire [11:0]              map_reg_waddr,
    output wire [31:0]              map_reg_wdata,
    output wire [3:0]               map_reg_wstrb,
    output wire                     map_reg_rd,
    output wire [11:0]              map_reg_raddr,
    input  wire [31:0]              map_reg_rdata,
    input  wire                     map_busy,

    // commit engine state (waveforms)
    output wire [3:0]               dbg_commit_state
);

localparam VALID_WORDS = (N_ENTRIES + 31) / 32;

localparam [3:0]
    C_IDLE    = 4'd0,   // waiting for CTRL
    C_INV     = 4'd1,   // INVALIDATE_ALL: waiting for the packet engine
    C_CHECK   = 4'd2,   // natoms, atoms, trace length
    C_SCAN    = 4'd3,   // opcode scan, one staged slot per cycle
    C_WAIT    = 4'd4,   // valid entry: waiting for the packet engine
    C_INSTALL = 4'd5,   // victim chosen: extractor slots and cells, one atom per cycle
    C_COPY    = 4'd6,   // trace copy, one slot per cycle
    C_DONE    = 4'd7,   // valid set, policy filled, counted
    C_ATOMS   = 4'd8;   // victim invalid, cells cleared: atoms written, one per cycle

// cell counters' widths (0..N_LEN_ATOMS, 0..N_GEN_ATOMS)
localparam LCNT_W = N_LEN_ATOMS > 0 ? $clog2(N_LEN_ATOMS + 1) : 1;
localparam GCNT_W = N_GEN_ATOMS > 0 ? $clog2(N_GEN_ATOMS + 1) : 1;

// ---- registers -------------------------------------------------------------------------------
reg [3:0]               state_reg, state_next;
reg                     commit_pend_reg, commit_pend_next;
reg                     inv_pend_reg, inv_pend_next;
reg                     hold_reg, hold_next;
reg [SLOT_W:0]          idx_reg, idx_next;           // slot under scan / copy
reg [31:0]              cost_reg, cost_next;         // budgeted cycles of the slots scanned
wire [31:0]             idx32 = {{(31-SLOT_W){1'b0}}, idx_reg};
reg [IDX_W-1:0]         victim_reg, victim_next;
// extractor slots: fields, the slots each entry's atoms read, and the commit's allocation
reg [N_SLOTS*32-1:0]    slot_cfg_reg, slot_cfg_next;
reg [N_ENTRIES*N_SLOTS-1:0] uses_reg, uses_next;
reg [NATOMS_W-1:0]      aidx_reg, aidx_next;         // atom under allocation
reg [N_SLOTS-1:0]       new_uses_reg, new_uses_next;  // slots the staged entry reads
reg [N_SLOTS-1:0]       newly_reg, newly_next;        // of those, slots configured by this commit
reg [N_SLOTS*32-1:0]    new_cfg_reg, new_cfg_next;    // their fields
reg [MAX_ATOMS*SIDX_W-1:0] aslots_reg, aslots_next;  // the slot of each staged atom
reg [MAX_ATOMS*CELL_W-1:0] acells_reg, acells_next;  // the cell of each staged atom
reg [LCNT_W-1:0]        lens_reg, lens_next;          // length cells the staged entry takes
reg [GCNT_W-1:0]        gens_reg, gens_next;          // general atoms the staged entry takes
reg                     evict_reg, evict_next;

reg [31:0]              natoms_reg, natoms_next;
reg [31:0]              tlen_reg, tlen_next;
reg [31:0]              seed_reg, seed_next;
reg [31:0]              pseed_reg, pseed_next;
// jump targets seen by the scan (bit t: some jump lands on slot t), for BAD_JUMP into an LD_IMM64
reg [MAX_TRACE_LEN:0]   jt_reg, jt_next;
reg [MAX_ATOMS*96-1:0]  atoms_reg, atoms_next;
reg [N_ENTRIES-1:0]     valid_reg, valid_next;

reg                     st_ok_reg, st_ok_next;
reg                     st_err_reg, st_err_next;
reg [7:0]               st_entry_reg, st_entry_next;
reg                     st_evicted_reg, st_evicted_next;
reg [15:0]              err_code_reg, err_code_next;
reg [15:0]              err_index_reg, err_index_next;

reg [`N_COUNTERS*32-1:0] cnt_reg, cnt_next;
reg [N_ENTRIES*32-1:0]  hits_reg, hits_next;

// AXI
reg                     bvalid_reg, bvalid_next;
reg                     rd_pend_reg, rd_pend_next;
reg [ADDR_W-1:0]        rd_addr_reg, rd_addr_next;
reg                     rvalid_reg, rvalid_next;
reg [31:0]              rdata_reg, rdata_next;

// one-cycle outputs
reg                     entry_wr_en_c;
reg                     atom_wr_en_c;
reg                     trace_wr_en_reg, trace_wr_en_next;
reg [SLOT_W-1:0]        trace_wr_slot_reg, trace_wr_slot_next;
reg [63:0]              trace_wr_data_reg;
reg                     fill_valid_c;
reg                     inv_all_c;
reg                     seed_valid_c;
reg                     clear_c;
reg                     cnt_install_c, cnt_evict_c, cnt_install_err_c;

// staging trace RAM
reg                     stg_wr_en_c;
reg [7:0]               stg_wr_be_c;
reg [SLOT_W-1:0]        stg_wr_addr_c;
reg [63:0]              stg_wr_data_c;
reg                     stg_rd_en_c;
reg [SLOT_W-1:0]        stg_rd_addr_c;
wire [63:0]             stg_rd_data;

jitnic_ram #(.DATA_W(64), .ADDR_W(SLOT_W)) u_stage_trace (
    .clk(clk),
    .wr_en(stg_wr_en_c), .wr_be(stg_wr_be_c), .wr_addr(stg_wr_addr_c), .wr_data(stg_wr_data_c),
    .rd_en(stg_rd_en_c), .rd_addr(stg_rd_addr_c), .rd_data(stg_rd_data)
);

// ---- helpers ---------------------------------------------------------------------------------
// slot rules (generated into jitnic_abi.vh from jit/nic/validate.py): the rule of an opcode, then
// the fields that rule allows; a slot passes when the executor would run it
// (trace format v2: the v1 rules plus jumps, calls and atomics)
localparam [1279:0] SLOT_RULES = `SLOT_RULE_TABLE_V2;
wire [7:0]  scan_opc = stg_rd_data[7:0];
wire [3:0]  scan_dst = stg_rd_data[11:8];
wire [3:0]  scan_src = stg_rd_data[15:12];
wire [15:0] scan_off = stg_rd_data[31:16];
wire [31:0] scan_imm = stg_rd_data[63:32];
wire [4:0]  scan_rule = SLOT_RULES[5*scan_opc +: 5];
wire        scan_ok = `SLOT_FIELDS_OK_V2(scan_rule, scan_dst, scan_src, scan_off, scan_imm);
wire        scan_div = scan_rule == {1'b0, `SLOT_RULE_DIV_K} || scan_rule == {1'b0, `SLOT_RULE_DIV_X};
wire        scan_call = scan_rule == `SLOT_RULE_CALL;
// the helpers the RTL executor implements (nic_helpers.py's RTL column); until that define
// exists, the NIC helper set
`ifdef RTL_HELPER_OK
wire        scan_call_ok = `RTL_HELPER_OK(scan_imm);
`else
wire        scan_call_ok = `NIC_HELPER_OK(scan_imm);
`endif
wire [31:0] scan_cost = scan_div ? (scan_opc[2:0] == 3'd7 ? `EXEC_COST_DIV64 : `EXEC_COST_DIV32) :
                        scan_call ? `SLOT_CALL_COST(scan_imm) :
                        scan_rule == `SLOT_RULE_ATOMIC ? `EXEC_COST_ATOMIC : `EXEC_COST_SLOT;
wire [32:0] scan_total = {1'b0, cost_reg} + {1'b0, scan_cost};
// jumps: forward, to at most the trace length (slot + 1 + off, off >= 0 and no wrap)
wire        scan_jump = scan_rule == {1'b0, `SLOT_RULE_JA} || scan_rule == `SLOT_RULE_JCOND_K ||
                        scan_rule == `SLOT_RULE_JCOND_X;
wire [31:0] scan_target = {{(31-SLOT_W){1'b0}}, idx_reg} + 32'd1 + {16'd0, scan_off};
wire        scan_jump_bad = scan_off[15] || scan_target > tlen_reg;
// (the indices below are at most MAX_TRACE_LEN; Verilator counts their width against the vector's
// when MAX_TRACE_LEN + 1 is not a power of two)
/* verilator lint_off WIDTH */
wire        scan_into_lddw = jt_reg[idx_reg + 1'b1];    // a jump lands on this LD_IMM64's 2nd slot
/* verilator lint_on WIDTH */

function [31:0] strobe;
    input [31:0] old;
    input [31:0] data;
    input [3:0]  strb;
    integer b;
    begin
        for (b = 0; b < 4; b = b + 1) begin
            strobe[8*b +: 8] = strb[b] ? data[8*b +: 8] : old[8*b +: 8];
        end
    end
endfunction

// ---- atom checks (parallel, first failing atom wins) -----------------------------------------
reg                 atom_fail;
reg [15:0]          atom_fail_code;
reg [15:0]          atom_fail_index;
/* verilator lint_off UNUSEDSIGNAL */
reg [31:0]          actrl;          // reserved bits and BE are not checked
/* verilator lint_on UNUSEDSIGNAL */
reg [12:0]          aend;
reg                 abad;
reg                 awin;

// ---- victim: lowest invalid entry, else the policy's choice -----------------------------------
reg [IDX_W-1:0]     free_index;
reg                 free_any;

integer i;

always @* begin
    atom_fail = 1'b0;
    atom_fail_code = `ERR_NONE;
    atom_fail_index = 16'd0;
    for (i = MAX_ATOMS - 1; i >= 0; i = i - 1) begin
        actrl = atoms_reg[96*i +: 32];
        aend = {1'b0, actrl[`ATOM_OFFSET_LSB +: `ATOM_OFFSET_W]} +
               (actrl[`ATOM_WIDTH_LSB +: 2] == `ATOM_WIDTH_1B ? 13'd1 :
                actrl[`ATOM_WIDTH_LSB +: 2] == `ATOM_WIDTH_2B ? 13'd2 : 13'd4);
        abad = actrl[`ATOM_OP_LSB +: `ATOM_OP_W] > `ATOM_OP_SGE || actrl[`ATOM_WIDTH_LSB +: 2] == 2'd3;
        awin = actrl[`ATOM_KIND_LSB] == `ATOM_KIND_PKT && {19'd0, aend} > HDR_BYTES;
        if (i < natoms_reg && (abad || awin)) begin
            atom_fail = 1'b1;
            atom_fail_code = abad ? `ERR_BAD_ATOM : `ERR_ATOM_WINDOW;
            atom_fail_index = i[15:0];
        end
    end

    free_any = 1'b0;
    free_index = {IDX_W{1'b0}};
    for (i = N_ENTRIES - 1; i >= 0; i = i - 1) begin
        if (!valid_reg[i]) begin
            free_any = 1'b1;
            free_index = i[IDX_W-1:0];
        end
    end
end

// ---- extractor slot allocation (jit/nic/validate.py allocate_slots) -------------------------------
// slots in use: read by a valid entry (all entries, for REG_SLOTS; all but the victim, for a commit)
reg [N_SLOTS-1:0]   in_use_all;
reg [63:0]          in_use_pad;     // in_use_all indexed by a register address (6 bits)
reg [N_SLOTS-1:0]   in_use_keep;
// atom aidx_reg of the staging area: its words and field, and where it can go
reg [95:0]          al_words;
reg [31:0]          al_ctrl;
reg                 al_is_len;
reg [31:0]          al_key;
reg [N_SLOTS-1:0]   al_used;
reg                 al_share_any, al_free_any;
reg [SIDX_W-1:0]    al_share, al_free;
reg [31:0]          al_cfg;
reg [SIDX_W-1:0]    al_slot;        // the slot it reads (shared, else the free one)
reg                 al_cell_any;    // a cell of the victim is left for it
reg [31:0]          al_cell32;
reg [CELL_W-1:0]    al_cell;
integer             si;

function [95:0] atom_words(input [MAX_ATOMS*96-1:0] atoms, input [NATOMS_W-1:0] n);
    integer p;
    begin
        atom_words = 96'd0;
        for (p = 0; p < MAX_ATOMS; p = p + 1) begin
            if ({{32-NATOMS_W{1'b0}}, n} == p) begin
                atom_words = atoms[96*p +: 96];
            end
        end
    end
endfunction

always @* begin
    in_use_all = {N_SLOTS{1'b0}};
    in_use_keep = {N_SLOTS{1'b0}};
    for (si = 0; si < N_ENTRIES; si = si + 1) begin
        if (valid_reg[si]) begin
            in_use_all = in_use_all | uses_reg[N_SLOTS*si +: N_SLOTS];
            if (si[IDX_W-1:0] != victim_reg) begin
                in_use_keep = in_use_keep | uses_reg[N_SLOTS*si +: N_SLOTS];
            end
        end
    end
    in_use_pad = 64'd0;
    in_use_pad[N_SLOTS-1:0] = in_use_all;
    al_words = atom_words(atoms_reg, aidx_reg);
    al_ctrl = al_words[31:0];
    al_is_len = al_ctrl[`ATOM_KIND_LSB] == `ATOM_KIND_LEN;
    al_key = al_ctrl & `ATOM_FIELD_MASK;
    if (al_ctrl[`ATOM_WIDTH_LSB +: 2] == `ATOM_WIDTH_1B) begin
        al_key[`ATOM_BE_LSB] = 1'b1;                 // one byte reads the same in either order
    end
    al_used = in_use_keep | new_uses_reg;
    al_share_any = 1'b0;
    al_free_any = 1'b0;
    al_share = {SIDX_W{1'b0}};
    al_free = {SIDX_W{1'b0}};
    for (si = N_SLOTS - 1; si >= 0; si = si - 1) begin
        al_cfg = newly_reg[si] ? new_cfg_reg[32*si +: 32] : slot_cfg_reg[32*si +: 32];
        if (al_used[si] && al_cfg == al_key) begin
            al_share_any = 1'b1;
            al_share = si[SIDX_W-1:0];
        end
        if (!al_used[si]) begin
            al_free_any = 1'b1;
            al_free = si[SIDX_W-1:0];
        end
    end
    // its compare cell (jit/nic/validate.py place_atoms): its slot's cell unless an earlier atom
    // of this entry reads the slot (new_uses_reg), a length cell, else a general atom
    al_slot = al_share_any ? al_share : al_free;
    al_cell_any = 1'b1;
    al_cell32 = 32'd0;
    if (!al_is_len && !new_uses_reg[al_slot]) begin
        al_cell32[SIDX_W-1:0] = al_slot;
    // (x + 1 <= N rather than x < N: N may be 0, and `x < 0` is a constant Verilator warns of)
    end else if (al_is_len && {{32-LCNT_W{1'b0}}, lens_reg} + 32'd1 <= N_LEN_ATOMS) begin
        al_cell32 = N_SLOTS + {{32-LCNT_W{1'b0}}, lens_reg};
    end else if ({{32-GCNT_W{1'b0}}, gens_reg} + 32'd1 <= N_GEN_ATOMS) begin
        al_cell32 = N_SLOTS + N_LEN_ATOMS + {{32-GCNT_W{1'b0}}, gens_reg};
    end else begin
        al_cell_any = 1'b0;
    end
    al_cell = al_cell32[CELL_W-1:0];
end

// ---- AXI decode ------------------------------------------------------------------------------
localparam [15:0] A_MAPS = `REG_MAP_REGION;
wire w_is_map = s_axil_awaddr[15:12] == A_MAPS[15:12];
wire wr_block = state_reg != C_IDLE || commit_pend_reg || inv_pend_reg;
// map writes wait while a map command runs (its staging must not change under it)
wire wr_go = s_axil_awvalid && s_axil_wvalid && !bvalid_reg && !wr_block && !(w_is_map && map_busy);
wire stg_busy = state_reg == C_CHECK || state_reg == C_SCAN || state_reg == C_INSTALL ||
                state_reg == C_ATOMS || state_reg == C_COPY;
wire rd_go = s_axil_arvalid && !rd_pend_reg && !rvalid_reg && !stg_busy;

wire [ADDR_W-1:0] waddr = {s_axil_awaddr[ADDR_W-1:2], 2'b00};
wire [31:0] w_atom = {24'd0, waddr[11:4]};
wire [1:0]  w_word = waddr[3:2];
wire [31:0] w_slot = {22'd0, waddr[12:3]};
wire [31:0] r_atom = {24'd0, rd_addr_reg[11:4]};
wire [1:0]  r_word = rd_addr_reg[3:2];
wire [31:0] r_slot = {22'd0, rd_addr_reg[12:3]};
wire [31:0] r_index = {24'd0, rd_addr_reg[9:2]};

localparam [15:0] A_COUNTERS = `REG_COUNTERS;
localparam [15:0] A_HITS = `REG_ENTRY_HITS;
localparam [15:0] A_VALID = `REG_ENTRY_VALID;
localparam [15:0] A_ATOMS = `REG_STAGE_ATOMS;
localparam [15:0] A_TRACE = `REG_STAGE_TRACE;
localparam [15:0] A_SLOTS = `REG_SLOTS;

wire w_is_atom = waddr[15:12] == A_ATOMS[15:12] && w_atom < MAX_ATOMS && w_word != 2'd3;
wire w_is_trace = waddr[15:13] == A_TRACE[15:13] && w_slot < MAX_TRACE_LEN;
wire r_is_cnt = rd_addr_reg[15:8] == A_COUNTERS[15:8] && rd_addr_reg[7:2] < `N_COUNTERS;
wire r_is_hits = rd_addr_reg[15:10] == A_HITS[15:10] && r_index < N_ENTRIES;
wire r_is_valid = rd_addr_reg[15:10] == A_VALID[15:10] && r_index < VALID_WORDS;
wire r_is_atom = rd_addr_reg[15:12] == A_ATOMS[15:12] && r_atom < MAX_ATOMS && r_word != 2'd3;
wire r_is_trace = rd_addr_reg[15:13] == A_TRACE[15:13] && r_slot < MAX_TRACE_LEN;
wire r_is_xslot = rd_addr_reg[15:8] == A_SLOTS[15:8] && {26'd0, rd_addr_reg[7:2]} < N_SLOTS;
wire r_is_map = rd_addr_reg[15:12] == A_MAPS[15:12];

wire [VALID_WORDS*32-1:0] valid_pad = {{VALID_WORDS*32-N_ENTRIES{1'b0}}, valid_reg};

// trace words come out of the staging RAM one cycle after the read handshake
always @* begin
    rdata_next = 32'd0;
    case (rd_addr_reg)
        `REG_ID:                rdata_next = `JITNIC_ID;
        `REG_VERSION:           rdata_next = `JITNIC_ABI_VERSION;
        `REG_CFG_N_ENTRIES:     rdata_next = N_ENTRIES;
        `REG_CFG_MAX_ATOMS:     rdata_next = MAX_ATOMS;
        `REG_CFG_MAX_TRACE_LEN: rdata_next = MAX_TRACE_LEN;
        `REG_CFG_HDR_BYTES:     rdata_next = HDR_BYTES;
        `REG_CFG_POLICY:        rdata_next = POLICY_CODE;
        `REG_CFG_PKT_BYTES:     rdata_next = PKT_BYTES;
        `REG_STATUS: begin
            rdata_next[`STATUS_BUSY_BIT] = state_reg != C_IDLE || commit_pend_reg || inv_pend_reg;
            rdata_next[`STATUS_COMMIT_OK_BIT] = st_ok_reg;
            rdata_next[`STATUS_COMMIT_ERR_BIT] = st_err_reg;
            rdata_next[`STATUS_LAST_ENTRY_LSB +: 8] = st_entry_reg;
            rdata_next[`STATUS_LAST_EVICTED_BIT] = st_evicted_reg;
        end
        `REG_ERROR:             rdata_next = {err_index_reg, err_code_reg};
        `REG_STAGE_NATOMS:      rdata_next = natoms_reg;
        `REG_STAGE_TRACE_LEN:   rdata_next = tlen_reg;
        `REG_POLICY_SEED:       rdata_next = seed_reg;
        `REG_PRANDOM_SEED:      rdata_next = pseed_reg;
        `REG_CFG_N_SLOTS:       rdata_next = N_SLOTS;
        `REG_CFG_CELLS: begin
            rdata_next[7:0] = N_LEN_ATOMS;
            rdata_next[`CFG_CELLS_GEN_LSB +: 8] = N_GEN_ATOMS;
        end
        default: begin
            if (r_is_cnt) begin
                rdata_next = cnt_reg[32*rd_addr_reg[7:2] +: 32];
            end else if (r_is_hits) begin
                rdata_next = hits_reg[32*r_index +: 32];
            end else if (r_is_valid) begin
                rdata_next = valid_pad[32*r_index +: 32];
            end else if (r_is_atom) begin
                rdata_next = atoms_reg[96*r_atom + 32*r_word +: 32];
            end else if (r_is_trace) begin
                rdata_next = rd_addr_reg[2] ? stg_rd_data[63:32] : stg_rd_data[31:0];
            end else if (r_is_xslot) begin
                rdata_next = slot_cfg_reg[32*rd_addr_reg[7:2] +: 32];
                rdata_next[`SLOT_IN_USE_BIT] = in_use_pad[rd_addr_reg[7:2]];
            end else if (r_is_map) begin
                rdata_next = map_reg_rdata;
            end
        end
    endcase
end

// ---- main logic ------------------------------------------------------------------------------
integer ci;

always @* begin
    state_next = state_reg;
    commit_pend_next = commit_pend_reg;
    inv_pend_next = inv_pend_reg;
    hold_next = hold_reg;
    idx_next = idx_reg;
    cost_next = cost_reg;
    victim_next = victim_reg;
    evict_next = evict_reg;
    slot_cfg_next = slot_cfg_reg;
    uses_next = uses_reg;
    aidx_next = aidx_reg;
    new_uses_next = new_uses_reg;
    newly_next = newly_reg;
    new_cfg_next = new_cfg_reg;
    aslots_next = aslots_reg;
    acells_next = acells_reg;
    lens_next = lens_reg;
    gens_next = gens_reg;
    natoms_next = natoms_reg;
    tlen_next = tlen_reg;
    seed_next = seed_reg;
    pseed_next = pseed_reg;
    jt_next = jt_reg;
    atoms_next = atoms_reg;
    valid_next = valid_reg;
    st_ok_next = st_ok_reg;
    st_err_next = st_err_reg;
    st_entry_next = st_entry_reg;
    st_evicted_next = st_evicted_reg;
    err_code_next = err_code_reg;
    err_index_next = err_index_reg;
    bvalid_next = bvalid_reg && !s_axil_bready;
    rd_pend_next = rd_pend_reg;
    rd_addr_next = rd_addr_reg;
    rvalid_next = rvalid_reg && !s_axil_rready;

    entry_wr_en_c = 1'b0;
    atom_wr_en_c = 1'b0;
    trace_wr_en_next = 1'b0;
    trace_wr_slot_next = trace_wr_slot_reg;
    fill_valid_c = 1'b0;
    inv_all_c = 1'b0;
    seed_valid_c = 1'b0;
    clear_c = 1'b0;
    cnt_install_c = 1'b0;
    cnt_evict_c = 1'b0;
    cnt_install_err_c = 1'b0;

    stg_wr_en_c = 1'b0;
    stg_wr_be_c = 8'd0;
    stg_wr_addr_c = w_slot[SLOT_W-1:0];
    stg_wr_data_c = {s_axil_wdata, s_axil_wdata};
    stg_rd_en_c = 1'b0;
    stg_rd_addr_c = r_slot[SLOT_W-1:0];

    // AXI write
    if (wr_go) begin
        bvalid_next = 1'b1;
        case (waddr)
            `REG_CTRL: begin
                if (s_axil_wstrb[0]) begin
                    commit_pend_next = s_axil_wdata[`CTRL_COMMIT_BIT];
                    inv_pend_next = s_axil_wdata[`CTRL_INVALIDATE_ALL_BIT];
                    clear_c = s_axil_wdata[`CTRL_CLEAR_COUNTERS_BIT];
                    seed_valid_c = s_axil_wdata[`CTRL_RESEED_BIT];
                end
            end
            `REG_STAGE_NATOMS:    natoms_next = strobe(natoms_reg, s_axil_wdata, s_axil_wstrb);
            `REG_STAGE_TRACE_LEN: tlen_next = strobe(tlen_reg, s_axil_wdata, s_axil_wstrb);
            `REG_POLICY_SEED:     seed_next = strobe(seed_reg, s_axil_wdata, s_axil_wstrb);
            `REG_PRANDOM_SEED:    pseed_next = strobe(pseed_reg, s_axil_wdata, s_axil_wstrb);
            default: begin
                if (w_is_atom) begin
                    atoms_next[96*w_atom + 32*w_word +: 32] =
                        strobe(atoms_reg[96*w_atom + 32*w_word +: 32], s_axil_wdata, s_axil_wstrb);
                end else if (w_is_trace) begin
                    stg_wr_en_c = 1'b1;
                    stg_wr_be_c = waddr[2] ? {s_axil_wstrb, 4'b0000} : {4'b0000, s_axil_wstrb};
                end
            end
        endcase
    end

    // AXI read: address in, staging RAM read issued; data registered the cycle after
    if (rd_go) begin
        rd_pend_next = 1'b1;
        rd_addr_next = {s_axil_araddr[ADDR_W-1:2], 2'b00};
        stg_rd_en_c = 1'b1;
        stg_rd_addr_c = s_axil_araddr[3 +: SLOT_W];
    end
    if (rd_pend_reg) begin
        rd_pend_next = 1'b0;
        rvalid_next = 1'b1;
    end

    // commit engine
    case (state_reg)
        C_IDLE: begin
            if (inv_pend_reg) begin
                state_next = C_INV;
                hold_next = 1'b1;
            end else if (commit_pend_reg) begin
                commit_pend_next = 1'b0;
                state_next = C_CHECK;
                st_ok_next = 1'b0;
                st_err_next = 1'b0;
            end
        end
        C_INV: begin
            if (hold_reg && engine_idle) begin
                valid_next = {N_ENTRIES{1'b0}};
                inv_all_c = 1'b1;
                inv_pend_next = 1'b0;
                hold_next = 1'b0;
                state_next = C_IDLE;
            end
        end
        C_CHECK: begin
            if (natoms_reg > MAX_ATOMS) begin
                err_code_next = `ERR_TOO_MANY_ATOMS;
                err_index_next = natoms_reg[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (atom_fail) begin
                err_code_next = atom_fail_code;
                err_index_next = atom_fail_index;
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (tlen_reg == 32'd0 || tlen_reg > MAX_TRACE_LEN) begin
                err_code_next = `ERR_BAD_TRACE_LEN;
                err_index_next = tlen_reg[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else begin
                idx_next = {(SLOT_W+1){1'b0}};
                cost_next = 32'd0;
                jt_next = {(MAX_TRACE_LEN+1){1'b0}};
                stg_rd_en_c = 1'b1;
                stg_rd_addr_c = {SLOT_W{1'b0}};
                state_next = C_SCAN;
            end
        end
        C_SCAN: begin
            // stg_rd_data is slot idx_reg
            cost_next = scan_total[31:0];
            if (scan_jump && !scan_jump_bad) begin
                /* verilator lint_off WIDTH */
                jt_next[scan_target[SLOT_W:0]] = 1'b1;
                /* verilator lint_on WIDTH */
            end
            if (!scan_ok) begin
                err_code_next = `ERR_BAD_OPCODE;
                err_index_next = idx32[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (scan_call && !scan_call_ok) begin
                err_code_next = `ERR_BAD_CALL;
                err_index_next = idx32[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (scan_total[32] || scan_total[31:0] > EXEC_BUDGET) begin   // 32-bit compare
                err_code_next = `ERR_EXEC_BUDGET;
                err_index_next = idx32[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (scan_jump && scan_jump_bad) begin
                err_code_next = `ERR_BAD_JUMP;
                err_index_next = idx32[15:0];
                state_next = C_IDLE;
                st_err_next = 1'b1;
                cnt_install_err_c = 1'b1;
            end else if (scan_opc == 8'h18) begin
                if (idx32 + 32'd1 >= tlen_reg) begin
                    // LD_IMM64 without its second slot
                    err_code_next = `ERR_BAD_OPCODE;
                    err_index_next = idx32[15:0];
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                end else if (idx32 + 32'd2 >= tlen_reg) begin
                    // LD_IMM64 fills the last two slots: the last slot is not exit
                    err_code_next = `ERR_NO_EXIT;
                    err_index_next = tlen_reg[15:0] - 1'b1;
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                end else if (scan_into_lddw) begin
                    err_code_next = `ERR_BAD_JUMP;
                    err_index_next = idx32[15:0];
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                end else begin
                    idx_next = idx_reg + {{(SLOT_W-1){1'b0}}, 2'd2};
                    stg_rd_en_c = 1'b1;
                    stg_rd_addr_c = idx_next[SLOT_W-1:0];
                end
            end else if (idx32 + 32'd1 == tlen_reg) begin
                if (scan_opc != 8'h95) begin
                    err_code_next = `ERR_NO_EXIT;
                    err_index_next = idx32[15:0];
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                end else begin
                    state_next = C_WAIT;
                    hold_next = 1'b1;
                end
            end else begin
                idx_next = idx_reg + 1'b1;
                stg_rd_en_c = 1'b1;
                stg_rd_addr_c = idx_next[SLOT_W-1:0];
            end
        end
        C_WAIT: begin
            if (hold_reg && engine_idle) begin
                victim_next = free_any ? free_index : pol_victim;
                evict_next = !free_any;
                aidx_next = {NATOMS_W{1'b0}};
                new_uses_next = {N_SLOTS{1'b0}};
                newly_next = {N_SLOTS{1'b0}};
                aslots_next = {MAX_ATOMS*SIDX_W{1'b0}};
                acells_next = {MAX_ATOMS*CELL_W{1'b0}};
                lens_next = {LCNT_W{1'b0}};
                gens_next = {GCNT_W{1'b0}};
                state_next = C_INSTALL;
            end
        end
        C_INSTALL: begin
            if ({{32-NATOMS_W{1'b0}}, aidx_reg} < natoms_reg) begin
                // atom aidx_reg: share a slot in use with its field, else take the lowest free
                // one; then its cell (al_cell)
                aidx_next = aidx_reg + 1'b1;
                if (!al_is_len && !al_share_any && !al_free_any) begin
                    err_code_next = `ERR_SLOTS_FULL;
                    err_index_next = {{16-NATOMS_W{1'b0}}, aidx_reg};
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                    hold_next = 1'b0;
                end else if (!al_cell_any) begin
                    err_code_next = `ERR_CELLS_FULL;
                    err_index_next = {{16-NATOMS_W{1'b0}}, aidx_reg};
                    state_next = C_IDLE;
                    st_err_next = 1'b1;
                    cnt_install_err_c = 1'b1;
                    hold_next = 1'b0;
                end else begin
                    acells_next[CELL_W*aidx_reg +: CELL_W] = al_cell;
                    if (al_is_len) begin
                        aslots_next[SIDX_W*aidx_reg +: SIDX_W] = {SIDX_W{1'b0}};   // reads no slot
                    end else begin
                        aslots_next[SIDX_W*aidx_reg +: SIDX_W] = al_slot;
                        new_uses_next[al_slot] = 1'b1;
                        if (!al_share_any) begin
                            newly_next[al_free] = 1'b1;
                            new_cfg_next[32*al_free +: 32] = al_key;
                        end
                    end
                    if (al_cell32 >= N_SLOTS + N_LEN_ATOMS) begin
                        gens_next = gens_reg + 1'b1;
                    end else if (al_cell32 >= N_SLOTS) begin
                        lens_next = lens_reg + 1'b1;
                    end
                end
            end else begin
                // the victim is invalid while it is written (its cells cleared, then its atoms
                // written in C_ATOMS); the packet engine is held
                valid_next[victim_reg] = 1'b0;
                entry_wr_en_c = 1'b1;
                for (ci = 0; ci < N_SLOTS; ci = ci + 1) begin
                    if (newly_reg[ci]) begin
                        slot_cfg_next[32*ci +: 32] = new_cfg_reg[32*ci +: 32];
                    end
                end
                uses_next[N_SLOTS*victim_reg +: N_SLOTS] = new_uses_reg;
                aidx_next = {NATOMS_W{1'b0}};
                state_next = C_ATOMS;
            end
        end
        C_ATOMS: begin
            if ({{32-NATOMS_W{1'b0}}, aidx_reg} < natoms_reg) begin
                atom_wr_en_c = 1'b1;        // atom aidx_reg into its cell
                aidx_next = aidx_reg + 1'b1;
            end else begin
                idx_next = {(SLOT_W+1){1'b0}};
                stg_rd_en_c = 1'b1;
                stg_rd_addr_c = {SLOT_W{1'b0}};
                state_next = C_COPY;
            end
        end
        C_COPY: begin
            // stg_rd_data is slot idx_reg: written next cycle (address and data registered)
            trace_wr_en_next = 1'b1;
            trace_wr_slot_next = idx_reg[SLOT_W-1:0];
            if (idx32 + 32'd1 == tlen_reg) begin
                state_next = C_DONE;
            end else begin
                idx_next = idx_reg + 1'b1;
                stg_rd_en_c = 1'b1;
                stg_rd_addr_c = idx_next[SLOT_W-1:0];
            end
        end
        C_DONE: begin
            // the last trace word is written this cycle
            valid_next[victim_reg] = 1'b1;
            fill_valid_c = 1'b1;
            cnt_install_c = 1'b1;
            cnt_evict_c = evict_reg;
            st_ok_next = 1'b1;
            st_entry_next = {{8-IDX_W{1'b0}}, victim_reg};
            st_evicted_next = evict_reg;
            err_code_next = `ERR_NONE;
            err_index_next = 16'd0;
            hold_next = 1'b0;
            state_next = C_IDLE;
        end
        default: state_next = C_IDLE;
    endcase
end

// ---- counters --------------------------------------------------------------------------------
reg [`N_COUNTERS-1:0] inc;
integer j;
integer k;

always @* begin
    inc = cnt_inc;
    inc[`CNT_INSTALLS] = cnt_install_c;
    inc[`CNT_EVICTIONS] = cnt_evict_c;
    inc[`CNT_INSTALL_ERRORS] = cnt_install_err_c;
    cnt_next = cnt_reg;
    hits_next = hits_reg;
    // CLEAR_COUNTERS zeroes first, then this cycle's increments land on the zeroed counters:
    // an event in the clearing cycle is counted, not lost
    if (clear_c) begin
        cnt_next = {`N_COUNTERS*32{1'b0}};
        hits_next = {N_ENTRIES*32{1'b0}};
    end
    for (j = 0; j < `N_COUNTERS; j = j + 1) begin
        if (j == `CNT_EXEC_CYCLES) begin
            if (inc[j]) begin
                cnt_next[32*j +: 32] = cnt_next[32*j +: 32] + cnt_exec_cycles;
            end
        end else if (j == `CNT_MAP_OPS) begin
            if (inc[j]) begin
                cnt_next[32*j +: 32] = cnt_next[32*j +: 32] + {16'd0, cnt_map_ops};
            end
        end else if (inc[j]) begin
            cnt_next[32*j +: 32] = cnt_next[32*j +: 32] + 32'd1;
        end
    end
    if (hit_valid) begin
        hits_next[32*hit_index +: 32] = hits_next[32*hit_index +: 32] + 32'd1;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;
    commit_pend_reg <= commit_pend_next;
    inv_pend_reg <= inv_pend_next;
    hold_reg <= hold_next;
    idx_reg <= idx_next;
    cost_reg <= cost_next;
    victim_reg <= victim_next;
    evict_reg <= evict_next;
    slot_cfg_reg <= slot_cfg_next;
    uses_reg <= uses_next;
    aidx_reg <= aidx_next;
    new_uses_reg <= new_uses_next;
    newly_reg <= newly_next;
    new_cfg_reg <= new_cfg_next;
    aslots_reg <= aslots_next;
    acells_reg <= acells_next;
    lens_reg <= lens_next;
    gens_reg <= gens_next;
    natoms_reg <= natoms_next;
    tlen_reg <= tlen_next;
    seed_reg <= seed_next;
    pseed_reg <= pseed_next;
    jt_reg <= jt_next;
    atoms_reg <= atoms_next;
    valid_reg <= valid_next;
    st_ok_reg <= st_ok_next;
    st_err_reg <= st_err_next;
    st_entry_reg <= st_entry_next;
    st_evicted_reg <= st_evicted_next;
    err_code_reg <= err_code_next;
    err_index_reg <= err_index_next;
    cnt_reg <= cnt_next;
    hits_reg <= hits_next;
    bvalid_reg <= bvalid_next;
    rd_pend_reg <= rd_pend_next;
    rd_addr_reg <= rd_addr_next;
    rvalid_reg <= rvalid_next;
    if (rd_pend_reg) begin
        rdata_reg <= rdata_next;
    end
    trace_wr_en_reg <= trace_wr_en_next;
    trace_wr_slot_reg <= trace_wr_slot_next;
    trace_wr_data_reg <= stg_rd_data;

    if (rst) begin
        state_reg <= C_IDLE;
        commit_pend_reg <= 1'b0;
        inv_pend_reg <= 1'b0;
        hold_reg <= 1'b0;
        idx_reg <= {(SLOT_W+1){1'b0}};
        victim_reg <= {IDX_W{1'b0}};
        evict_reg <= 1'b0;
        slot_cfg_reg <= {N_SLOTS*32{1'b0}};
        uses_reg <= {N_ENTRIES*N_SLOTS{1'b0}};
        aidx_reg <= {NATOMS_W{1'b0}};
        new_uses_reg <= {N_SLOTS{1'b0}};
        newly_reg <= {N_SLOTS{1'b0}};
        natoms_reg <= 32'd0;
        tlen_reg <= 32'd0;
        seed_reg <= 32'd0;
        pseed_reg <= 32'd0;
        jt_reg <= {(MAX_TRACE_LEN+1){1'b0}};
        for (k = 0; k < MAX_ATOMS * 3; k = k + 1) begin
            atoms_reg[32*k +: 32] <= 32'd0;
        end
        valid_reg <= {N_ENTRIES{1'b0}};
        st_ok_reg <= 1'b0;
        st_err_reg <= 1'b0;
        st_entry_reg <= 8'd0;
        st_evicted_reg <= 1'b0;
        err_code_reg <= `ERR_NONE;
        err_index_reg <= 16'd0;
        cnt_reg <= {`N_COUNTERS*32{1'b0}};
        hits_reg <= {N_ENTRIES*32{1'b0}};
        bvalid_reg <= 1'b0;
        rd_pend_reg <= 1'b0;
        rd_addr_reg <= {ADDR_W{1'b0}};
        rvalid_reg <= 1'b0;
        rdata_reg <= 32'd0;
        trace_wr_en_reg <= 1'b0;
        trace_wr_slot_reg <= {SLOT_W{1'b0}};
    end
end

// ---- outputs ---------------------------------------------------------------------------------
assign s_axil_awready = wr_go;
assign s_axil_wready = wr_go;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = rd_go;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = rvalid_reg;

assign entry_wr_en = entry_wr_en_c;
assign entry_wr_index = victim_reg;
assign atom_wr_en = atom_wr_en_c;
assign atom_wr_cell = acells_reg[CELL_W*aidx_reg +: CELL_W];
assign atom_wr_slot = aslots_reg[SIDX_W*aidx_reg +: SIDX_W];
assign atom_wr_words = al_words;
assign slot_fields = slot_cfg_reg;
assign entry_wr_trace_len = tlen_reg[SLOT_W:0];
assign trace_wr_en = trace_wr_en_reg;
assign trace_wr_addr = {victim_reg, trace_wr_slot_reg};
assign trace_wr_data = trace_wr_data_reg;
assign entry_valid = valid_reg;

assign engine_hold = hold_reg;

assign pol_fill_valid = fill_valid_c;
assign pol_fill_index = victim_reg;
assign pol_fill_evict = evict_reg;
assign pol_invalidate_all = inv_all_c;
assign pol_seed_valid = seed_valid_c;
assign pol_seed = seed_reg;
assign prandom_seed = pseed_reg;

assign dbg_commit_state = state_reg;

assign map_reg_wr = wr_go && w_is_map;
assign map_reg_waddr = {waddr[11:2], 2'b00};
assign map_reg_wdata = s_axil_wdata;
assign map_reg_wstrb = s_axil_wstrb;
assign map_reg_rd = rd_go && s_axil_araddr[15:12] == A_MAPS[15:12];
assign map_reg_raddr = {s_axil_araddr[11:2], 2'b00};

/* verilator lint_off UNUSEDSIGNAL */
// counters by name, for waveforms (rtl/jitnic.gtkw)
wire [31:0] dbg_rx_packets = cnt_reg[32*`CNT_RX_PACKETS +: 32];
wire [31:0] dbg_hits = cnt_reg[32*`CNT_HITS +: 32];
wire [31:0] dbg_misses = cnt_reg[32*`CNT_MISSES +: 32];
wire [31:0] dbg_installs = cnt_reg[32*`CNT_INSTALLS +: 32];
wire [31:0] dbg_evictions = cnt_reg[32*`CNT_EVICTIONS +: 32];
wire [31:0] dbg_tx = cnt_reg[32*`CNT_TX +: 32];
wire [31:0] dbg_drops = cnt_reg[32*`CNT_DROPS +: 32];
wire [31:0] dbg_passes = cnt_reg[32*`CNT_PASSES +: 32];
wire [31:0] dbg_redirects = cnt_reg[32*`CNT_REDIRECTS +: 32];
wire [31:0] dbg_aborts = cnt_reg[32*`CNT_ABORTS +: 32];
wire [31:0] dbg_exec_errors = cnt_reg[32*`CNT_EXEC_ERRORS +: 32];
wire [31:0] dbg_runts = cnt_reg[32*`CNT_RUNTS +: 32];
wire [31:0] dbg_oversize = cnt_reg[32*`CNT_OVERSIZE +: 32];
wire [31:0] dbg_host_tx = cnt_reg[32*`CNT_HOST_TX +: 32];
wire [31:0] dbg_install_errors = cnt_reg[32*`CNT_INSTALL_ERRORS +: 32];
wire [31:0] dbg_exec_cycles = cnt_reg[32*`CNT_EXEC_CYCLES +: 32];
wire [31:0] dbg_guard_misses = cnt_reg[32*`CNT_GUARD_MISSES +: 32];
wire [31:0] dbg_map_ops = cnt_reg[32*`CNT_MAP_OPS +: 32];
wire unused_axil = ^s_axil_awprot ^ ^s_axil_arprot ^ ^s_axil_awaddr[1:0] ^ ^s_axil_araddr[1:0];
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
    if (MAX_ATOMS < 1 || MAX_ATOMS > 256) begin
        $display("Error: MAX_ATOMS must be in 1..256, got %0d (instance %m)", MAX_ATOMS);
        $finish;
    end
    if (MAX_TRACE_LEN < 2 || MAX_TRACE_LEN > 1024) begin
        $display("Error: MAX_TRACE_LEN must be in 2..1024, got %0d (instance %m)", MAX_TRACE_LEN);
        $finish;
    end
    if (N_SLOTS < 1 || N_SLOTS > 64) begin
        $display("Error: N_SLOTS must be in 1..64, got %0d (instance %m)", N_SLOTS);
        $finish;
    end
    if (N_LEN_ATOMS < 0 || N_LEN_ATOMS > 16 || N_GEN_ATOMS < 0 || N_GEN_ATOMS > 64 ||
        N_LEN_ATOMS + N_GEN_ATOMS < 1) begin
        $display("Error: N_LEN_ATOMS must be in 0..16 and N_GEN_ATOMS in 0..64, at least one cell for length atoms, got %0d, %0d (instance %m)",
                 N_LEN_ATOMS, N_GEN_ATOMS);
        $finish;
    end
    if (ADDR_W != 16) begin
        $display("Error: the register map needs ADDR_W = 16, got %0d (instance %m)", ADDR_W);
        $finish;
    end
end

endmodule

`resetall
