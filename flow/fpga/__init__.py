"""The FPGA target (`target: fpga`): the same design points through open FPGA tools, as a SiliconCompiler FPGA
project whose flowgraph is made of our own Tasks (flow/fpga/tasks.py, tool wrappers in flow/tools/):

    rtl -> rtlsim -> fpga_synth -> fpga_netsim -> pnr -> bitstream

rtl and rtlsim are the ASIC flow's tasks; fpga_synth is Yosys synth_ecp5 (pyosys), fpga_netsim the cocotb
testbench on the mapped ECP5 netlist against the golden model, pnr nextpnr-ecp5 once per seed, bitstream ecppack.
"""
