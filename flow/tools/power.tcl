# Activity-annotated power of flow/tools/power.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are
# filled in. The liberty is power.py's copy (default operating conditions, rise+fall internal energy halved
# where 2.0.17 adds them, every output's function made its own pin so activity propagation keeps the
# annotated values). Constraints as opensta.tcl: every path is clocked, which 2.0.17 needs to turn an activity
# per clock period into one per second.
read_liberty ${liberty}
read_verilog ${netlist}
link_design ${top}
# ns and pF whatever the liberty uses (asap7: ps, fF), as opensta.tcl
set_cmd_units -time ns -capacitance pF
${spef}
create_clock -name ${clock} -period ${period} [get_ports ${clock}]
${propagate}
set non_clock_inputs [lsearch -inline -all -not -exact [all_inputs] [get_ports ${clock}]]
set_input_delay 0 -clock ${clock} $$non_clock_inputs
set_output_delay 0 -clock ${clock} [all_outputs]
# Activity per clock period and duty of every input port and every driving cell pin, from the VCD
# (never -global: it overrides every per-pin value; never -input: propagation crashed 2.0.17 on these netlists)
source ${activity}
report_power -digits 8
${instances}
${readback}
puts "kan-dse: power complete"
