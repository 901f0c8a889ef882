# The design and constraints every OpenSTA script of the flow starts with: opensta.run_script renders this file
# (placeholders: dollar, braces) into the script's own setup placeholder (opensta.tcl, power.tcl).
# Constraints: clock sys_clk at the target period; inputs and outputs are taken to connect to registers of
# the neighbouring block on the same clock edge (input/output delay 0 ns, so fmax = 1/(period - WNS) holds),
# inputs ideal (a port such as load_en fans out to every coefficient register: the placement's fanout buffering
# builds that tree, and post-route timing includes it), outputs unloaded. Every path is clocked, which 2.0.17's
# power needs to turn an activity per clock period into one per second.
read_liberty ${liberty}
read_verilog ${netlist}
link_design ${top}
# Every number below in ns and pF whatever the liberty uses (asap7: ps, fF); opensta.py checks the scale.
set_cmd_units -time ns -capacitance pF
${spef}
create_clock -name ${clock} -period ${period} [get_ports ${clock}]
${propagate}
set non_clock_inputs [lsearch -inline -all -not -exact [all_inputs] [get_ports ${clock}]]
set_input_delay 0 -clock ${clock} $$non_clock_inputs
set_output_delay 0 -clock ${clock} [all_outputs]
