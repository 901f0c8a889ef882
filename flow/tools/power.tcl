# Activity-annotated power of flow/tools/power.py (Debian OpenSTA 2.0.17); placeholders (dollar, braces) are
# filled in. The liberty is power.py's copy (default operating conditions, rise+fall internal energy halved
# where 2.0.17 adds them, every output's function made its own pin so activity propagation keeps the
# annotated values). The design and constraints: sta_setup.tcl.
${setup}
# Pins and cells by their full names: find_pin/find_instance look a name up level by level, where get_pins and
# get_cells match it as a pattern against every instance of each level (8x8 b3: the 67k PE cells' report took
# 7.6 s with get_cells, 1.8 s with find_instance; same report). A name they do not find goes to get_pins/get_cells.
proc kan_pin_activity {name activity duty} {
  set pin [sta::find_pin $$name]
  if {$$pin == "NULL"} { set pin [get_pins $$name] }
  sta::set_power_pin_activity $$pin $$activity $$duty
}
proc kan_cells {names} {
  set cells {}
  foreach name $$names {
    set cell [sta::find_instance $$name]
    if {$$cell == "NULL"} { set cell [get_cells $$name] }
    lappend cells $$cell
  }
  return $$cells
}
# Activity per clock period and duty of every input port and every driving cell pin, from the VCD
# (never -global: it overrides every per-pin value; never -input: propagation crashed 2.0.17 on these netlists)
source ${activity}
report_power -digits 8
${instances}
${readback}
puts "kan-dse: power complete"
