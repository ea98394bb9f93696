`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC bench: an AXI4-Lite master that runs a batch of bus operations written by the Python bench.

/*
 * The bench writes commands into `cmd` (op [63:60]: 1 write, 2 read, 3 poll; address [47:32];
 * data [31:0]: the value written, or for a poll the mask of bits that must read as zero), their
 * number into `cmd_count` and then a new value into `cmd_seq`. The master runs them in order, one
 * at a time; `res` holds each one's response [33:32] and read data (a poll's last read), and
 * `done_seq` takes the value of `cmd_seq` when the batch is over, which is the one change the
 * bench waits for. A command that does not finish within TIMEOUT cycles (a hung slave, a poll that
 * never clears) ends the batch with `fault` = {index + 1 [31:16], 1}; a good batch leaves 0.
 */
module jitnic_tb_axil #(
    // log2 of the command memory's depth
    parameter CMD_LOG2 = 10,
    // cycles one command may take, polls included
    parameter TIMEOUT = 20000
) (
    input  wire        clk,
    input  wire        rst,

    output reg  [15:0] m_axil_awaddr,
    output wire [2:0]  m_axil_awprot,
    output reg         m_axil_awvalid,
    input  wire        m_axil_awready,
    output reg  [31:0] m_axil_wdata,
    output wire [3:0]  m_axil_wstrb,
    output reg         m_axil_wvalid,
    input  wire        m_axil_wready,
    input  wire [1:0]  m_axil_bresp,
    input  wire        m_axil_bvalid,
    output reg         m_axil_bready,
    output reg  [15:0] m_axil_araddr,
    output wire [2:0]  m_axil_arprot,
    output reg         m_axil_arvalid,
    input  wire        m_axil_arready,
    input  wire [31:0] m_axil_rdata,
    input  wire [1:0]  m_axil_rresp,
    input  wire        m_axil_rvalid,
    output reg         m_axil_rready
);

localparam DEPTH = 1 << CMD_LOG2;
localparam [3:0] OP_WRITE = 4'd1, OP_READ = 4'd2, OP_POLL = 4'd3;
localparam [2:0] S_IDLE = 3'd0, S_FETCH = 3'd1, S_WRITE = 3'd2, S_RESP = 3'd3, S_ADDR = 3'd4,
                 S_DATA = 3'd5;

// ---- written by the bench only (through VPI) ---------------------------------------------------
reg [63:0] cmd [0:DEPTH-1];
reg [15:0] cmd_count;
reg [31:0] cmd_seq;

integer i;
initial begin
    for (i = 0; i < DEPTH; i = i + 1)
        cmd[i] = 64'd0;
    cmd_count = 16'd0;
    cmd_seq = 32'd0;
end

// ---- read by the bench ---------------------------------------------------------------------------
reg [33:0] res [0:DEPTH-1];      // {response [33:32], read data}
reg [31:0] done_seq;
reg [31:0] fault;

initial begin
    for (i = 0; i < DEPTH; i = i + 1)
        res[i] = 34'd0;
end

reg [2:0]  state_reg;
reg [15:0] index_reg;
reg [3:0]  op_reg;
reg [31:0] mask_reg;
reg [31:0] cycles_reg;

assign m_axil_awprot = 3'd0;
assign m_axil_arprot = 3'd0;
assign m_axil_wstrb = 4'hF;

wire [63:0] current = cmd[index_reg[CMD_LOG2-1:0]];

always @(posedge clk) begin
    cycles_reg <= cycles_reg + 32'd1;
    case (state_reg)
        S_IDLE: begin
            if (cmd_seq != done_seq) begin
                index_reg <= 16'd0;
                fault <= 32'd0;
                state_reg <= S_FETCH;
            end
        end
        S_FETCH: begin
            cycles_reg <= 32'd0;
            op_reg <= current[63:60];
            mask_reg <= current[31:0];
            if (index_reg == cmd_count) begin
                done_seq <= cmd_seq;
                state_reg <= S_IDLE;
            end else if (current[63:60] == OP_WRITE) begin
                m_axil_awaddr <= current[47:32];
                m_axil_wdata <= current[31:0];
                m_axil_awvalid <= 1'b1;
                m_axil_wvalid <= 1'b1;
                state_reg <= S_WRITE;
            end else begin
                m_axil_araddr <= current[47:32];
                m_axil_arvalid <= 1'b1;
                state_reg <= S_ADDR;
            end
        end
        S_WRITE: begin
            if (m_axil_awready)
                m_axil_awvalid <= 1'b0;
            if (m_axil_wready)
                m_axil_wvalid <= 1'b0;
            if ((m_axil_awready || !m_axil_awvalid) && (m_axil_wready || !m_axil_wvalid)) begin
                m_axil_bready <= 1'b1;
                state_reg <= S_RESP;
            end
        end
        S_RESP: begin
            if (m_axil_bvalid) begin
                m_axil_bready <= 1'b0;
                res[index_reg[CMD_LOG2-1:0]] <= {m_axil_bresp, 32'd0};
                index_reg <= index_reg + 16'd1;
                state_reg <= S_FETCH;
            end
        end
        S_ADDR: begin
            if (m_axil_arready) begin
                m_axil_arvalid <= 1'b0;
                m_axil_rready <= 1'b1;
                state_reg <= S_DATA;
            end
        end
        S_DATA: begin
            if (m_axil_rvalid) begin
                m_axil_rready <= 1'b0;
                res[index_reg[CMD_LOG2-1:0]] <= {m_axil_rresp, m_axil_rdata};
                if (op_reg == OP_POLL && (m_axil_rdata & mask_reg) != 32'd0) begin
                    m_axil_arvalid <= 1'b1;           // again, until the masked bits clear
                    state_reg <= S_ADDR;
                end else begin
                    index_reg <= index_reg + 16'd1;
                    state_reg <= S_FETCH;
                end
            end
        end
        default: state_reg <= S_IDLE;
    endcase
    if (state_reg != S_IDLE && state_reg != S_FETCH && cycles_reg >= TIMEOUT) begin
        fault <= {index_reg + 16'd1, 16'd1};
        m_axil_awvalid <= 1'b0;
        m_axil_wvalid <= 1'b0;
        m_axil_bready <= 1'b0;
        m_axil_arvalid <= 1'b0;
        m_axil_rready <= 1'b0;
        done_seq <= cmd_seq;
        state_reg <= S_IDLE;
    end
    if (rst) begin
        state_reg <= S_IDLE;
        index_reg <= 16'd0;
        op_reg <= 4'd0;
        mask_reg <= 32'd0;
        cycles_reg <= 32'd0;
        done_seq <= cmd_seq;
        fault <= 32'd0;
        m_axil_awaddr <= 16'd0;
        m_axil_wdata <= 32'd0;
        m_axil_araddr <= 16'd0;
        m_axil_awvalid <= 1'b0;
        m_axil_wvalid <= 1'b0;
        m_axil_bready <= 1'b0;
        m_axil_arvalid <= 1'b0;
        m_axil_rready <= 1'b0;
    end
end

endmodule

`resetall
