#!/usr/bin/env bash
# Installs what the tests need when it is missing, so `make test` works on a fresh
# machine with only Go, make and network access to Debian's and npm's registries:
#   - Debian packages: libonnx-testdata (ONNX operator conformance tests),
#     protobuf-compiler (protoc, for `make generate`), python3-onnx (operator docs);
#   - onnxruntime-node 1.30.0 under tools/ort (the ONNX Runtime oracle of the interop
#     tests and CPU comparisons), installed from tools/ort/package-lock.json.
# Each step is skipped when already satisfied. Failures are reported, not fatal: the
# tests that need a missing piece skip with a message naming it.
set -u
cd "$(dirname "$0")/.."

need_pkgs=()
for p in libonnx-testdata protobuf-compiler; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null; }; then
    echo "install-deps: WARNING: could not install ${need_pkgs[*]}; conformance tests will be skipped" >&2
  fi
fi

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if [ ! -f tools/ort/node_modules/onnxruntime-node/package.json ]; then
    echo "install-deps: installing onnxruntime-node into tools/ort"
    if ! (cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1); then
      echo "install-deps: WARNING: npm install of onnxruntime-node failed; ONNX Runtime interop tests will be skipped" >&2
    fi
  fi
else
  echo "install-deps: WARNING: node/npm not found; ONNX Runtime interop tests will be skipped" >&2
fi
exit 0
