#!/usr/bin/env bash
# The analyses in results/ whose inputs are committed, run again: what they print must be what the
# reports say. It keeps the Python that models #17's policies (results/half-720p/rules.py, read by
# results/half-720p/risk.py, results/half-720p/reach.py, results/half-720p/causal_rule.py (which
# also reads the sweeps' committed reports), results/views-720p/headroom.py,
# results/pairs-720p/pairs.py and results/half-720p/shortlist.py) honest as it changes. Needs
# Python 3 with numpy: PYTHON, else the first of `python3` on PATH and Debian's /usr/bin/python3
# (python3-numpy) that has it, since a pyenv or venv python3 on PATH does not see Debian's packages.
# `scripts/dev.sh test` runs it.
#
#   [PYTHON=python3] scripts/check-results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-}
if [ -z "$py" ]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import numpy' 2>/dev/null; then
      py=$candidate
      break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "check-results: no Python 3 with numpy (Debian: apt-get install python3-numpy; or set PYTHON)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# rules.py: the tables of results/half-720p/rules.md, from the GOP sums in gops/ (the command the
# report gives). Every line it prints must be a line of the report.
g=results/half-720p/gops
"$py" results/half-720p/rules.py \
  --design levels=$g/level2000.csv.gz,$g/level2001.csv.gz,$g/level2002.csv.gz,$g/level2003.csv.gz,$g/level2004.csv.gz,$g/level2005.csv.gz \
  gltf-orbit=$g/gltf-orbit.csv.gz \
  --test orbit=$g/orbit.csv.gz pan=$g/pan.csv.gz approach=$g/approach.csv.gz strafe=$g/strafe.csv.gz >"$tmp/rules.txt"
rows=$(grep -c '^| ' "$tmp/rules.txt" || true)
if [ "$rows" -eq 0 ]; then
  echo "FAIL results/half-720p/rules.md: rules.py printed no table" >&2
  fail=1
elif missing=$(grep -vxF -f results/half-720p/rules.md "$tmp/rules.txt"); then
  echo "FAIL results/half-720p/rules.md: rules.py prints lines the report does not have:" >&2
  echo "$missing" >&2
  fail=1
else
  echo "ok   results/half-720p/rules.md ($rows table rows)"
fi

# REPORT SCRIPT [ARGS...]: SCRIPT, given ARGS and `--out`, must write REPORT as it is, whole.
whole() {
  report=$1
  script=$2
  shift 2
  out="$tmp/$(basename "$(dirname "$report")")-$(basename "$report")"
  "$py" "$script" "$@" --out "$out" >/dev/null
  if diff -u "$report" "$out" >&2; then
    echo "ok   $report"
  else
    echo "FAIL $report differs from what $(basename "$script") writes (above)" >&2
    fail=1
  fi
}

whole results/views-720p/headroom.md results/views-720p/headroom.py
whole results/half-720p/risk.md results/half-720p/risk.py
whole results/half-720p/reach.md results/half-720p/reach.py
whole results/half-720p/causal-rule.md results/half-720p/causal_rule.py
# The command results/shortlist-720p/README.md gives.
whole results/shortlist-720p/model.md results/half-720p/shortlist.py \
  --design levels=$g/level2000.csv.gz,$g/level2001.csv.gz,$g/level2002.csv.gz,$g/level2003.csv.gz,$g/level2004.csv.gz,$g/level2005.csv.gz \
  gltf-orbit=$g/gltf-orbit.csv.gz \
  --test orbit=$g/orbit.csv.gz pan=$g/pan.csv.gz approach=$g/approach.csv.gz strafe=$g/strafe.csv.gz
exit $fail
