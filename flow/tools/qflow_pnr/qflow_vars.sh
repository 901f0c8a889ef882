# Variables ypostproc.tcl reads (it evaluates each line as Tcl with '=' turned into a space).
set bufcell=${buffer}
set bufpin_in=${buffer_in}
set bufpin_out=${buffer_out}
