#!/bin/sh
# The exam's non-Python step: row count and mean of the target column of a CSV, in POSIX sh + awk.
# usage: sh stats.sh DATA.csv TARGET OUT.yaml   (writes "rows: N" and "target_mean: X", YAML)
set -eu
awk -v target="$2" '
NR == 1 {
    n = split($0, names, /[,;]/)
    for (i = 1; i <= n; i++) { gsub(/"/, "", names[i]); if (names[i] == target) col = i }
    if (!col) { print "stats.sh: no column " target > "/dev/stderr"; exit 2 }
    next
}
NF { split($0, fields, /[,;]/); sum += fields[col]; rows++ }
END { if (rows) printf "rows: %d\ntarget_mean: %.12g\n", rows, sum / rows }
' "$1" > "$3"
cat "$3"
