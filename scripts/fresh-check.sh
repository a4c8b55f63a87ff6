#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12: builds a minimal bookworm root with mmdebstrap
# (Debian's packages only, nothing of this machine's), copies a clean clone of HEAD and ../shared into
# it, and runs there the README's test command (scripts/test.sh) and the main job in a short form
# (scripts/run.sh on 1024 images), printing the time and outcome of each. Run it as root before
# resolving anything that changes dependencies or scripts; record its last result in docs/PLATFORMS.md.
# Usage: scripts/fresh-check.sh [--fast] [--no-run] [--keep]
#   --fast    scripts/test.sh --fast inside (no sanitizer build)
#   --no-run  skip the short main job
#   --keep    keep the root afterwards (default: removed)
# Environment: FRESH_ROOT=DIR (default /tmp/mixbt-fresh-root; emptied first),
#              DEBIAN_MIRROR=URL (default http://deb.debian.org/debian)
# Only committed work is checked: the clone is of HEAD, as a user's would be.
set -euo pipefail
cd "$(dirname "$0")/.."
fast="" run=1 keep=0
for a in "$@"; do
  case "$a" in
    --fast) fast="--fast" ;;
    --no-run) run=0 ;;
    --keep) keep=1 ;;
    *) echo "fresh-check: unknown argument '$a' (usage: scripts/fresh-check.sh [--fast] [--no-run] [--keep])" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: must run as root (it builds and enters a chroot)" >&2; exit 2; }
shared=../shared
[ -d "$shared" ] || { echo "fresh-check: $shared not found beside the repository" >&2; exit 2; }
root=${FRESH_ROOT:-/tmp/mixbt-fresh-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${mirror%/debian}/debian-security
commit=$(git rev-parse --short HEAD)
log=$(mktemp -d)/fresh-check.log

command -v mmdebstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
}

cleanup() {
  for m in dev/shm dev/pts dev proc sys; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  [ "$keep" = 1 ] || rm -rf --one-file-system "$root"
}
trap cleanup EXIT
cleanup
rm -rf --one-file-system "$root"

secs() { date +%s; }
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
t0=$(secs)
echo "== fresh-check: Debian 12 root in $root (mmdebstrap, variant apt)"
mmdebstrap --quiet --variant=apt --include=ca-certificates bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"
t_root=$(($(secs) - t0))

mkdir -p "$root/work"
git clone --quiet --no-local . "$root/work/mixbt"
cp -a "$shared" "$root/work/shared"
chmod -R a-w "$root/work/shared"  # CI's copy has no write bits either
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
mount -t tmpfs tmpfs "$root/dev/shm"

# in_root CMD: runs CMD in the repository inside the root, with a clean environment.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /work/mixbt && $1"
}

t1=$(secs)
echo "== fresh-check: scripts/test.sh $fast (log: $log)"
test_rc=0
in_root "scripts/test.sh $fast" >"$log" 2>&1 || test_rc=$?
t_test=$(($(secs) - t1))
grep -E '^test.sh:|tests passed|tests failed' "$log" | tail -n 6 || true
[ "$test_rc" = 0 ] || tail -n 40 "$log"

run_rc=skipped t_run=0
if [ "$run" = 1 ]; then
  t2=$(secs)
  echo "== fresh-check: scripts/run.sh, short (1024 images, k-NN on 1000/200)"
  run_rc=0
  in_root "scripts/run.sh --subset 1024 --knn-subset 1000 --knn-test-subset 200" >>"$log" 2>&1 || run_rc=$?
  t_run=$(($(secs) - t2))
  grep -E '^k-NN top-1|^run folder' "$log" | tail -n 2 || true
  [ "$run_rc" = 0 ] || tail -n 20 "$log"
fi

outcome=passed
[ "$test_rc" = 0 ] && { [ "$run_rc" = 0 ] || [ "$run_rc" = skipped ]; } || outcome=FAILED
echo "fresh-check: $(date -u +%Y-%m-%d) commit $commit on $(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2):" \
  "root $(fmt "$t_root"), test.sh $fast exit $test_rc in $(fmt "$t_test"), run.sh exit $run_rc in $(fmt "$t_run"): $outcome"
[ "$outcome" = passed ]
