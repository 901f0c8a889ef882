#!/usr/bin/env bash
# Installs everything the flow needs on a Debian machine; idempotent, and quick when nothing changed.
#   Debian: simulator, timer, placer, router and the qflow helpers + the osu018 library.
#   Python: a .venv in the repo root with the pinned packages of pyproject.toml, editable install.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(iverilog opensta graywolf qrouter qflow qflow-tech-osu018 tcl)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install.sh: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "install.sh: pip install -e . (pinned dependencies of pyproject.toml)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import flow, rtl_gen, migen, cocotb, siliconcompiler, pyosys" 
  rm -f .venv/.installed-* && touch "$stamp"
fi

# PDK data: CI has ../shared/pdks beside the checkout (nothing to do); a fresh machine downloads lambdapdk's
# sky130hd subset (the default PDK) so that `flow run configs/b3.yaml` works. Offline this only warns: the flow's
# own error then names the fixes.
if ! .venv/bin/python -c "from flow.pdks import resolve; resolve('sky130hd')" 2>/dev/null; then
  echo "install.sh: flow pdk install sky130hd (no sky130hd data found)"
  .venv/bin/flow pdk install sky130hd || echo "install.sh: warning: sky130hd data not installed (see the error above)"
fi
