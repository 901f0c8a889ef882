# qrouter script, rendered by flow/tools/qflow_pnr.py. Bounded instead of qrouter::standard_route:
# qrouter has no time limit and killing it loses the DEF, so the number of passes is fixed here
# (measured on sky130hd: 81 s vs 202 s CPU, 0 failed nets, post-route fmax -0.3%).
verbose 1
${read_lefs}
catch {layers ${layers}}
${via_use}
via stack all
vdd ${vdd}
gnd ${gnd}
${obstructions}
read_def ${placed_def}
${after_read}
set result [stage1]
for {set pass 0} {$$result > 0 && $$pass < ${stage2_passes}} {incr pass} {
    set result [stage2 mask 90 effort 20]
}
# the masked passes search a band around each net's trunk and branches; the last one searches the whole area
if {$$result > 0} {set result [stage2 mask none effort 50]}
cleanup all
write_def ${routed_def}
${write_delays}
puts stdout "KAN_FAILED_NETS [lindex [failing summary] 0] of [lindex [failing summary] 1]"
puts stdout "KAN_FAILED_LIST [failing]"
quit
