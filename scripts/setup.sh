#!/usr/bin/env bash
# Installs every tool the build, the demo and the tests need, skipping what is already there,
# so `npm test` and `npm run demo` work on a fresh Linux machine with only Rust and Node.
# Debian packages need root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
: "${WASM_BINDGEN_VERSION:?could not read the pinned wasm-bindgen version from Cargo.toml}"

# binaryen: wasm-opt; chromium(-driver): browser tests; iproute2/iptables: sandbox networking;
# mmdebstrap: builds the sandboxes' Debian root (the `base` template), from this machine's apt
# sources; python3/python3-venv: the Python SDK tests' .venv and the tests' HTTP servers;
# curl and util-linux (nsenter, setpriv, flock): the tests reach into namespaces with them;
# apt-utils (apt-ftparchive): the base test serves its own apt repository;
# e2fsprogs (mkfs.ext4) and util-linux (mount): each sandbox's disk image. Everything used
# inside a sandbox comes from the base template, not from this machine.
APT_PACKAGES=(binaryen chromium chromium-driver iproute2 iptables mmdebstrap apt-utils python3 python3-venv curl procps util-linux e2fsprogs)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The lint gates of `npm test`; a minimal rustup profile ships without them.
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm ci only when the installed tree does not match the lockfile.
if ! cmp -s package-lock.json node_modules/.package-lock.stamp 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.package-lock.stamp
fi

# The official PyPI SDK for tests/python, in .venv, pinned by tests/python/requirements.txt.
if ! cmp -s tests/python/requirements.txt .venv/requirements.stamp 2>/dev/null; then
  echo "setup: installing the Python test SDK into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
  cp tests/python/requirements.txt .venv/requirements.stamp
fi

# The code-interpreter-v1 template's wheels (ipykernel, the data stack and their dependencies,
# ~130 MB, pinned in templates/code-interpreter-v1/requirements.txt), downloaded once into the
# template's dir (its build context, not in git) so that building the template needs no package
# index. Base's Python is Debian bookworm's 3.11: the wheels are for it.
# download_wheels REQUIREMENTS DIR: the wheels of REQUIREMENTS into DIR (with a copy of it as
# the stamp), unless DIR already holds them.
download_wheels() {
  local requirements=$1 dir=$2
  cmp -s "$requirements" "$dir/$(basename "$requirements")" 2>/dev/null && return
  echo "setup: downloading the wheels of $requirements"
  rm -rf "$dir"
  .venv/bin/pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version 3.11 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 \
    -r "$requirements" -d "$dir"
  cp "$requirements" "$dir/"
}
download_wheels templates/code-interpreter-v1/requirements.txt templates/code-interpreter-v1/wheels
# The other kernels' wheels (bash_kernel, Deno), in a directory of their own.
download_wheels templates/code-interpreter-v1/requirements-kernels.txt templates/code-interpreter-v1/kernel-wheels

# The newest PyPI SDK too, in .venv-e2b-2.63: some behaviour (a sandbox killed mid-command) is
# checked with both versions.
if ! cmp -s tests/python/requirements-2.63.txt .venv-e2b-2.63/requirements.stamp 2>/dev/null; then
  echo "setup: installing the second Python test SDK into .venv-e2b-2.63"
  python3 -m venv .venv-e2b-2.63
  .venv-e2b-2.63/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements-2.63.txt
  cp tests/python/requirements-2.63.txt .venv-e2b-2.63/requirements.stamp
fi

# The sandboxes' Debian root, built once per machine (a few minutes) so that no test waits for
# it; sandboxd would build it at its first start otherwise. Needs the release build and root.
cargo build --release -p sandboxd
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO target/release/sandboxd base build

# The code-interpreter-v1 template's Debian packages (R and IRkernel, listed in
# templates/code-interpreter-v1/debs-kernels.txt): every .deb of their dependency closure that
# the base root just built lacks, without recommends, downloaded from this machine's apt
# sources (the ones base is built from), so that the template installs them with no network.
DEBS_LIST=templates/code-interpreter-v1/debs-kernels.txt
if ! cmp -s "$DEBS_LIST" templates/code-interpreter-v1/debs/debs-kernels.txt 2>/dev/null; then
  echo "setup: downloading the code-interpreter template's Debian packages"
  base_status=$(ls -td /var/cache/sandboxd/debian-*/root/var/lib/dpkg/status | head -1)
  rm -rf templates/code-interpreter-v1/debs
  mkdir -p templates/code-interpreter-v1/debs/partial
  $SUDO apt-get update -qq
  $SUDO apt-get install -qq -y --download-only --no-install-recommends \
    -o Dir::State::status="$base_status" -o Dir::Cache::archives="$PWD/templates/code-interpreter-v1/debs" \
    $(grep -v '^#' "$DEBS_LIST")
  rm -rf templates/code-interpreter-v1/debs/partial templates/code-interpreter-v1/debs/lock
  cp "$DEBS_LIST" templates/code-interpreter-v1/debs/
fi
