"""The tiled (array-scale) physical flow: harden one PE and one B-spline unit as macros, tile them, route only
the array-level nets. One module per concern:

1. macros.py: each macro (kan_pe, kan_bspline) is synthesized alone, placed by graywolf, given edge pins
   (flow.tools.macro: west inputs / east outputs at the same y, north inputs / south outputs at the same x,
   broadcasts north) and routed by qrouter without the PDK's top layer, which stays free over the macro for the
   array router. Its LEF abstract, routed netlist, SPEF and DEF are cached under build/.cache/macros/<key>/ (key:
   the module's Verilog, the PDK's liberty, the pin plan, synthesis options, tool versions, code_hash), built in a
   temporary folder and renamed into place when complete, so a sweep over array sizes hardens each variant once.
2. glue.py: kan_array is synthesized by Yosys (glue_synth.ys) with kan_pe/kan_bspline as black boxes; its few
   hundred cells (input skew and output deskew registers, valid pipeline, the constant-zero partial sums of row
   0) get one name per bit (ArrayNetlist). arrayplan.py places them in strips next to where they connect
   (flow.tools.floorplan). Yosys sees the real glue RTL, so the cells are exactly those of the flat flow; no
   generator change is needed.
3. routing.py: the array DEF (macros FIXED, glue PLACED, I/O pins) is routed with the macros' LEFs: nets in
   windows of 2x2, 4x4, 8x8 PE pitches (a net that fails in its window is routed there again with the window's
   own nets), long nets in pieces per tile, then full-die runs for each long net's spine and for the nets left
   (flow.tools.window_route, WindowedRoute); qflow_pnr.route on the whole die if that fails, up to
   FALLBACK_MAX_MACROS macros.
4. run.py (run_tiled): OpenSTA times the hierarchical netlist: every macro instance reads its macro's SPEF
   (`read_spef -path`, rc2dly's), the array level the one def_spef.py writes from the routed DEF for every
   array-level net, each written down to the cell pins inside the macros (OpenSTA 2.0 times a net by its
   top-level parasitics).
5. run.py: the gate netlist runs the cocotb check against the golden model, the glue and some or all
   macro instances as routed gates (flow.verify_gates; verify.gate_check_scope).
"""
from .macros import harden
from .routing import route_array
from .run import run_tiled

__all__ = ["harden", "route_array", "run_tiled"]
