# Static timing of flow/tools/opensta.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are filled in.
# Constraints: clock sys_clk at the target period; inputs and outputs are taken to connect to registers of
# the neighbouring block on the same clock edge (input/output delay 0 ns, so fmax = 1/(period - WNS) holds),
# inputs ideal (a port such as load_en fans out to every coefficient register: the placement's fanout buffering
# builds that tree, and post-route timing includes it), outputs unloaded.
read_liberty ${liberty}
read_verilog ${netlist}
link_design ${top}
# Every number below in ns and pF whatever the liberty uses (asap7: ps, fF); the wrapper checks the scale.
set_cmd_units -time ns -capacitance pF
puts "kan-dse: sta time units per ns: [sta::time_sta_ui 1e-9]"
${spef}
create_clock -name ${clock} -period ${period} [get_ports ${clock}]
${propagate}
set non_clock_inputs [lsearch -inline -all -not -exact [all_inputs] [get_ports ${clock}]]
set_input_delay 0 -clock ${clock} $$non_clock_inputs
set_output_delay 0 -clock ${clock} [all_outputs]
report_checks -path_delay max -digits 4 -format full
report_worst_slack -digits 4
report_tns -digits 4
# Hold: the worst min-delay path and its slack, after the setup reports (the wrapper reads the first ones as setup)
puts "kan-dse: hold checks"
report_checks -path_delay min -digits 4 -format full
