# Static timing of flow/tools/opensta.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are filled in.
# The design and constraints: sta_setup.tcl.
${setup}
puts "kan-dse: sta time units per ns: [sta::time_sta_ui 1e-9]"
report_checks -path_delay max -digits 4 -format full
report_worst_slack -digits 4
report_tns -digits 4
# Hold: the worst min-delay path and its slack, after the setup reports (the wrapper reads the first ones as setup)
puts "kan-dse: hold checks"
report_checks -path_delay min -digits 4 -format full
