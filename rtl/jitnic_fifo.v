`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC synchronous FIFO: first-word fall-through, for descriptor and word queues.

/*
 * out_valid/out_data show the oldest entry; out_pop removes it (ignored when empty). Pushing into
 * a full FIFO is a design error of the caller (the queues are sized so it cannot happen, e.g. one
 * descriptor per packet buffer), so `full` is only an output for checks and waveforms.
 */
module jitnic_fifo #(
    // payload bits
    parameter WIDTH = 16,
    // entries; power of two >= 2
    parameter DEPTH = 4,
    // pointer width (derived, do not override)
    parameter PTR_W = $clog2(DEPTH)
) (
    input  wire             clk,
    input  wire             rst,

    input  wire             in_push,
    input  wire [WIDTH-1:0] in_data,

    output wire             out_valid,
    output wire [WIDTH-1:0] out_data,
    input  wire             out_pop,

    output wire             full
);

reg [WIDTH-1:0] mem [0:DEPTH-1];
reg [PTR_W:0]   wr_reg, rd_reg;     // one wrap bit

always @(posedge clk) begin
    if (in_push) begin
        mem[wr_reg[PTR_W-1:0]] <= in_data;
        wr_reg <= wr_reg + 1'b1;
    end
    if (out_pop && out_valid) begin
        rd_reg <= rd_reg + 1'b1;
    end
    if (rst) begin
        wr_reg <= {(PTR_W+1){1'b0}};
        rd_reg <= {(PTR_W+1){1'b0}};
    end
end

integer k;
initial begin
    for (k = 0; k < DEPTH; k = k + 1) begin
        mem[k] = {WIDTH{1'b0}};
    end
    if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0) begin
        $display("Error: DEPTH must be a power of two >= 2, got %0d (instance %m)", DEPTH);
        $finish;
    end
end

assign out_valid = wr_reg != rd_reg;
assign out_data = mem[rd_reg[PTR_W-1:0]];
assign full = wr_reg == {~rd_reg[PTR_W], rd_reg[PTR_W-1:0]};

endmodule

`resetall
