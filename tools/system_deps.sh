#!/usr/bin/env bash
# Installs the few system libraries the Python wheels do not bundle, only when
# they are missing.  opencv-contrib-python (required by mediapipe) links
# libGL.so.1 and libglib-2.0.so.0; everything else (FFmpeg in PyAV, libespeak-ng
# in espeakng-loader, libsndfile in soundfile) ships inside the wheels.
set -euo pipefail

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libGL.so.1' || missing+=(libgl1)
have_lib 'libglib-2.0.so.0' || missing+=(libglib2.0-0)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "[tools] system libraries missing: ${missing[*]} (needed by opencv, which mediapipe imports)"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "[tools] installing them with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
  echo "[tools] installing them with sudo apt-get"
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[tools] please install ${missing[*]} (or your distribution's libGL / glib packages) and re-run make" >&2
  exit 1
fi
