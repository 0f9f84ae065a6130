#!/usr/bin/env bash
# Set-up and entry points for depthcast on Debian/Ubuntu.
#
#   scripts/dev.sh demo [ARGS...]   install what is missing, build, run `depthcast demo`
#   scripts/dev.sh test             install what is missing, build, run every test (and test-arm)
#   scripts/dev.sh test-arm         the SIMD kernels for aarch64 (NEON) against scalar, under qemu
#   scripts/dev.sh deps             only install the system packages
#
# System packages are installed with apt-get when running as root or with sudo; otherwise the
# exact commands are printed and the script stops. CARGO_TARGET_DIR is honoured (CI points it at
# a cache outside the clone); the aarch64 build goes to DEPTHCAST_ARM_TARGET_DIR (default: beside it).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pkg-config clang libclang-dev                                    # bindgen for ffmpeg-sys-next
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev       # FFmpeg 5.x (libx264/libx265 inside)
  libavfilter-dev libavdevice-dev libswresample-dev
  mesa-vulkan-drivers libvulkan1                                    # software Vulkan for headless Bevy
  nginx libnginx-mod-rtmp                                           # RTMP fan-out test
)
# Only the tests: headless Chromium for the browser receiver's tests (WebCodecs, WebGL2), Janus for
# the many-viewers WebRTC path, numpy for scripts/check-results.sh.
TEST_APT_PACKAGES=(
  chromium
  janus
  python3-numpy
)
# The Rust tests need no Python: the committed models are read by Rust. scripts/check-results.sh
# runs the results' Python analyses whose inputs are committed. Retraining the predictor needs
# `pip install -r precision-net/train/requirements.txt` (see precision-net/README.md).

# test-arm: Debian 12's Rust 1.96 (`rustc-web`, `cargo-web`: /usr/bin/rustc and /usr/bin/cargo)
# with its aarch64 standard library, the aarch64 GNU toolchain as linker, qemu-user to run. They
# sit beside a rustup toolchain (rustup's are first on PATH; test-arm calls Debian's by path).
ARM_APT_PACKAGES=(
  rustc-web cargo-web libstd-rust-web-dev:arm64
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-user
)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# The prefix that runs a command as root ("" or "sudo"), or nothing and status 1.
root_prefix() {
  if [ "$(id -u)" -eq 0 ]; then
    echo ""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "sudo"
  else
    return 1
  fi
}

# install_packages [--arch ARCH] PACKAGE...: installs the missing ones (adding the dpkg
# architecture ARCH first if needed), or prints the commands and stops.
install_packages() {
  local arch=""
  if [ "${1:-}" = "--arch" ]; then
    arch="$2"
    shift 2
  fi
  local missing add_arch=0 sudo
  mapfile -t missing < <(missing_packages "$@")
  if [ -n "$arch" ] && [ "$(dpkg --print-architecture)" != "$arch" ] \
    && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    add_arch=1
  fi
  [ "${#missing[@]}" -gt 0 ] || [ "$add_arch" -eq 1 ] || return 0
  if ! sudo="$(root_prefix)"; then
    echo "depthcast needs these Debian/Ubuntu packages; install them as root and run again:" >&2
    [ "$add_arch" -eq 0 ] || echo "  dpkg --add-architecture $arch" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  if [ "$add_arch" -eq 1 ]; then
    echo "adding the dpkg architecture $arch"
    $sudo dpkg --add-architecture "$arch"
  fi
  $sudo apt-get update -qq
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_deps() {
  install_packages "${APT_PACKAGES[@]}"
  if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust 1.95 or newer with rustup (https://rustup.rs) and run again" >&2
    exit 1
  fi
}

# What test-arm needs. Debian's rustc-web and cargo-web conflict with Debian's rustc, cargo and
# rustup packages: apt would remove those, so the script stops instead.
install_arm_deps() {
  local p
  for p in rustc cargo rustup; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "test-arm uses Debian's rustc-web and cargo-web, which conflict with the Debian package" >&2
      echo "'$p' installed here; remove it (a rustup toolchain from https://rustup.rs does not" >&2
      echo "conflict) or run only 'cargo test --workspace --release'" >&2
      exit 1
    fi
  done
  install_packages --arch arm64 "${ARM_APT_PACKAGES[@]}"
}

# The SIMD kernel check (tools/kernel-check) built for aarch64 and run under qemu-user: NEON against
# the scalar reference, bit for bit. On an aarch64 host `cargo test` has already run it natively.
test_arm() {
  if [ "$(uname -m)" = "aarch64" ]; then
    echo "test-arm: this host is aarch64; cargo test --workspace runs the kernel check natively"
    return 0
  fi
  install_arm_deps
  local version
  version="$(/usr/bin/rustc --version)"
  if ! printf '1.95.0\n%s\n' "$(echo "$version" | cut -d' ' -f2)" | sort -V -C; then
    echo "test-arm needs rustc-web 1.95 or newer (bookworm-security has 1.96); found: $version" >&2
    exit 1
  fi
  local dir
  if [ -n "${DEPTHCAST_ARM_TARGET_DIR:-}" ]; then
    dir="$DEPTHCAST_ARM_TARGET_DIR"
  elif [ -n "${CARGO_TARGET_DIR:-}" ]; then
    dir="${CARGO_TARGET_DIR%/}-aarch64"
  else
    dir="$PWD/target/aarch64-check"
  fi
  echo "test-arm: $version, building in $dir"
  # Only the check crate and its two dependencies (no dev-dependencies) are built. libtest's
  # harness is not used: qemu-user here hangs on thread creation, and the check never spawns one.
  # Host flags (say `-C target-cpu=native`) and wrappers are for the x86 build: not passed on.
  env -u RUSTC_WRAPPER -u RUSTUP_TOOLCHAIN -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR="$dir" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="timeout ${DEPTHCAST_ARM_TIMEOUT:-600} qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    /usr/bin/cargo test --locked --release --target aarch64-unknown-linux-gnu \
    -p depthcast-kernel-check --test kernels -- --require neon
}

# Whether apt offers Debian's rustc-web (Debian 12 does; Ubuntu does not). grep reads all of
# its input (no -q): under pipefail, `grep -q` exiting at the first match could kill apt-cache
# with SIGPIPE and make the pipeline fail, which skipped test-arm on a fresh machine.
arm_toolchain_available() {
  dpkg-query -W -f='${Status}' rustc-web 2>/dev/null | grep "install ok installed" >/dev/null \
    || apt-cache policy rustc-web 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null
}

# Headless rendering uses Mesa's software Vulkan unless a real GPU driver is present.
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

cmd="${1:-}"
shift || true
case "$cmd" in
  deps)
    install_deps
    if [ "$(uname -m)" != "aarch64" ] && arm_toolchain_available; then
      install_arm_deps
    fi
    ;;
  demo)
    install_deps
    cargo run --release --bin depthcast -- demo "$@"
    ;;
  test)
    install_deps
    install_packages "${TEST_APT_PACKAGES[@]}"
    # Release profile: the tests reuse the demo's build, and the codec and GPU tests run at speed.
    cargo test --workspace --release
    scripts/check-results.sh
    if [ "$(uname -m)" = "aarch64" ] || arm_toolchain_available; then
      test_arm
    else
      echo "SKIPPED test-arm: apt offers no rustc-web (Debian 12's Rust 1.96) here, so NEON is not checked" >&2
    fi
    ;;
  test-arm)
    test_arm
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
