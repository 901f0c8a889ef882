# Static timing of flow/tools/opensta.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are filled in.
# The design and constraints: sta_setup.tcl.
${setup}
set propagated_clock ${propagated}
puts "kan-dse: sta time units per ns: [sta::time_sta_ui 1e-9]"
report_checks -path_delay max -digits 4 -format full
report_worst_slack -digits 4
report_tns -digits 4
# Hold: the worst min-delay path and its slack, after the setup reports (the wrapper reads the first ones as setup)
puts "kan-dse: hold checks"
report_checks -path_delay min -digits 4 -format full
# and the worst between two registers (the worst above is often an input: input delay 0 against a clock that
# reaches the register later)
puts "kan-dse: register hold checks"
report_checks -path_delay min -from [all_registers -clock_pins] -to [all_registers -data_pins] -digits 4 -format full
# Clock network, post-route only (pre-route the clock is ideal: every latency 0): sys_clk's rising-edge arrival at
# each register clock pin through the routed clock wiring, the macros' inside included (min and max: the
# insertion delay), and the worst skew of a launching over a capturing register (report_clock_skew, setup).
if {$$propagated_clock} {
  set sinks 0; set lo INF; set hi -INF
  foreach pin [all_registers -clock_pins] {
    set v [lindex [$$pin vertices] 0]
    lassign [$$v arrivals_clk_delays rise [get_clocks ${clock}] rise 4] early late
    if {$$late == "-INF"} { continue }     ;# a falling-edge register: not on sys_clk's rising edge
    incr sinks
    if {$$early < $$lo} { set lo $$early }
    if {$$late > $$hi} { set hi $$late }
  }
  puts "kan-dse: clock sinks $$sinks latency $$lo $$hi"
  report_clock_skew -digits 4
}
