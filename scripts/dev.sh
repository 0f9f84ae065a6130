#!/usr/bin/env bash
# Set-up and entry points for depthcast on Debian/Ubuntu.
#
#   scripts/dev.sh demo [ARGS...]   install what is missing, build, run `depthcast demo`
#   scripts/dev.sh test             install what is missing, build, run every test
#   scripts/dev.sh deps             only install the system packages
#
# System packages are installed with apt-get when running as root or with sudo; otherwise the
# exact list is printed and the script stops. CARGO_TARGET_DIR is honoured (CI points it at a
# cache outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pkg-config clang libclang-dev                                    # bindgen for ffmpeg-sys-next
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev       # FFmpeg 5.x (libx264/libx265 inside)
  libavfilter-dev libavdevice-dev libswresample-dev
  mesa-vulkan-drivers libvulkan1                                    # software Vulkan for headless Bevy
  nginx libnginx-mod-rtmp                                           # RTMP fan-out test
)
# The tests need no Python: the committed models are read by Rust. Retraining the predictor needs
# `pip install -r precision-net/train/requirements.txt` (see precision-net/README.md).

missing_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_deps() {
  local missing
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo="sudo"
      else
        echo "depthcast needs these Debian/Ubuntu packages; install them as root and run again:" >&2
        echo "  apt-get install -y ${missing[*]}" >&2
        exit 1
      fi
    fi
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust 1.95 or newer with rustup (https://rustup.rs) and run again" >&2
    exit 1
  fi
}

# Headless rendering uses Mesa's software Vulkan unless a real GPU driver is present.
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

cmd="${1:-}"
shift || true
case "$cmd" in
  deps)
    install_deps
    ;;
  demo)
    install_deps
    cargo run --release --bin depthcast -- demo "$@"
    ;;
  test)
    install_deps
    # Release profile: the tests reuse the demo's build, and the codec and GPU tests run at speed.
    cargo test --workspace --release
    ;;
  *)
    sed -n '2,11p' "$0" >&2
    exit 2
    ;;
esac
