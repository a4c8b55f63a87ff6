#!/usr/bin/env bash
# Installs the Debian packages mixbt needs to build and test (run as root; others: sudo).
# Usage: scripts/install-deps.sh [--with-torch]   (--with-torch: PyTorch for fixture regeneration,
#        interop round trips and the benchmark peer)
set -euo pipefail
# ocl-icd-opencl-dev: libdnnl-dev only recommends it, but oneDNN's CMake package calls find_package(OpenCL).
# plplot-driver-cairo: PLplot's png/svg/pdf devices (mixbt plot), a plugin libplplot-dev only suggests; the
# fonts its text needs come by Debian's declared dependencies (pango -> fontconfig -> fontconfig-config ->
# fonts-dejavu-core, the first of its alternatives), named here as well.
pkgs=(build-essential cmake pkg-config libdnnl-dev ocl-icd-opencl-dev libopenblas-dev libopenblas0-pthread libjpeg62-turbo-dev
      libpng-dev libcjson-dev libzip-dev libcurl4-openssl-dev libmatio-dev zlib1g-dev libarchive-dev libssl-dev
      libplplot-dev plplot-driver-cairo fonts-dejavu-core)
[ "${1:-}" = "--with-torch" ] && pkgs+=(python3-torch python3-torchvision python3-numpy python3-pil)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
