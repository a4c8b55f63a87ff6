#!/usr/bin/env bash
# mixbt plot from the command line: two runs overlaid into PNG (the default, in the first run), SVG and
# PDF; one-line errors and a non-zero exit for a run without metrics.csv, a malformed line, an unknown
# --out extension and no run; PLplot without its drivers (its fatal error) is one line, not a crash.
mixbt=$1
source "$(dirname "$0")/lib_cli.sh"

mkdir -p "$tmp/a" "$tmp/b" "$tmp/empty" "$tmp/bad" "$tmp/nodrivers"
cat > "$tmp/a/metrics.csv" <<'CSV'
epoch,step,lr,loss_bt,loss_reg,loss,knn_top1,knn_top5,images_per_s,elapsed_s
0,0,0,,,,24.00,70.10,0.00,3.2
1,4,0.001,1800.5,12.1,1812.6,,,310.50,10.1
2,8,0.00095,1500.2,10.5,1510.7,30.50,80.20,320.00,17.0
CSV
cat > "$tmp/b/metrics.csv" <<'CSV'
epoch,step,lr,loss,knn_top1,knn_top5,images_per_s,elapsed_s
1,4,0.002,5.9,,,410.50,9.1
2,8,0.0019,5.5,28.00,,420.00,16.0
CSV
printf 'epoch,step,lr,loss\n1,4,0.002,5.9\n2,8,0.0019\n' > "$tmp/bad/metrics.csv"

# magic FILE TEXT: the file starts with TEXT
magic() { [ "$(head -c ${#2} "$1")" = "$2" ]; }

if "$mixbt" plot "$tmp/a" "$tmp/b/" > "$tmp/out.log" 2>&1; then ok; else bad "plot a b failed: $(tail -2 "$tmp/out.log")"; fi
[ -s "$tmp/a/curves.png" ] && magic "$tmp/a/curves.png" $'\x89PNG' && ok || bad "no PNG at a/curves.png (the default)"
[ "$(stat -c %s "$tmp/a/curves.png" 2>/dev/null || echo 0)" -gt 20000 ] && ok || bad "a/curves.png is too small"
grep -q "wrote $tmp/a/curves.png" "$tmp/out.log" && ok || bad "no 'wrote' line: $(cat "$tmp/out.log")"
"$mixbt" plot "$tmp/a" "$tmp/b" --out "$tmp/page.svg" > /dev/null 2>&1 && magic "$tmp/page.svg" "<?xml" &&
  grep -q "<svg" "$tmp/page.svg" && ok || bad "no SVG"
"$mixbt" plot "$tmp/a" --out "$tmp/page.PDF" > /dev/null 2>&1 && magic "$tmp/page.PDF" "%PDF-" && ok || bad "no PDF"
ls -a "$tmp" | grep -q '\.tmp\.' && bad "a temporary file was left: $(ls -a "$tmp")" || ok

expect_error "$tmp/empty/metrics.csv: cannot open" plot "$tmp/a" "$tmp/empty"
expect_error "$tmp/bad/metrics.csv:3: 3 cells, the header has 4 columns" plot "$tmp/bad"
expect_error --rc 2 "--out 'x.jpg' does not end in .png, .svg or .pdf" plot "$tmp/a" --out x.jpg
expect_error --rc 2 "expected at least one RUN" plot
[ -e "$tmp/bad/curves.png" ] && bad "a failed plot wrote bad/curves.png" || ok

# PLplot with no drivers ends a program in plexit(); mixbt reports it in one line and goes on
PLPLOT_DRV_DIR="$tmp/nodrivers" expect_error --rc 1 "mixbt plot: PLplot: No device drivers found" plot "$tmp/a" --out "$tmp/x.png"

echo "cli_plot: $pass passed, $fails failed"
[ $fails -eq 0 ]
