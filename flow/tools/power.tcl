# Activity-annotated power of flow/tools/power.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are
# filled in. The liberty is power.py's copy (default operating conditions, rise+fall internal energy halved
# where 2.0.17 adds them, every output's function made its own pin so activity propagation keeps the
# annotated values). The design and constraints: sta_setup.tcl.
${setup}
# Activity per clock period and duty of every input port and every driving cell pin, from the VCD
# (never -global: it overrides every per-pin value; never -input: propagation crashed 2.0.17 on these netlists)
source ${activity}
report_power -digits 8
${instances}
${readback}
puts "kan-dse: power complete"
