#!/usr/bin/env bash
# The real-GPU check of issue 24: TensorFlow.js on WebGPU (Dawn over Vulkan) against the CPU backend,
# one table (scripts/gpu-check.ts says what it measures).
#
#   scripts/gpu-check.sh pack OUT_DIR [--with-node] [--with-vulkan-loader]
#       in the checkout (npm installed, python3-torch for the checkpoint): builds OUT_DIR and
#       OUT_DIR.tar.xz (at most 64 MiB) to carry to a GPU host that has no package registry
#   gpu-check.sh [--short]
#       in an unpacked OUT_DIR on the GPU host (NVIDIA driver with its Vulkan ICD): runs the check from
#       what is carried; or in the checkout, through tsx
#
# On the GPU host it uses the machine's Node when it is 20 or newer, else the carried one (--with-node),
# and the carried Vulkan loader (--with-vulkan-loader) when `ldconfig -p` lacks libvulkan.so.1.
# HANLAB_ALLOW_SOFTWARE_GPU=1 lets it run on a software adapter (SwiftShader: tests), whose figures are
# no speed claim.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "${1:-}" = "pack" ]; then
  shift
  cd "$here/.."
  exec node --import tsx scripts/gpu-check-pack.ts "$@"
fi

# Dawn's Vulkan loader complains without a runtime folder (harmlessly, but in every child's log).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

if [ -f "$here/gpu-check.mjs" ]; then
  # The carried folder.
  cd "$here"
  node_bin=""
  if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; then
    node_bin="$(command -v node)"
  elif [ -x "$here/node/bin/node" ]; then
    node_bin="$here/node/bin/node"
  else
    echo "gpu-check: no Node.js 20 or newer on this machine, and none carried (pack with --with-node)" >&2
    exit 2
  fi
  if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    if [ -f "$here/lib/libvulkan.so.1" ]; then
      export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    else
      echo "gpu-check: the Vulkan loader libvulkan.so.1 is not in \`ldconfig -p\` and none is carried (pack with --with-vulkan-loader)" >&2
    fi
  fi
  export HANLAB_DAWN_NODE="$here/dawn.node"
  export HANLAB_TFJS_WASM_DIR="$here/wasm/"
  # The CPU side on XNNPACK: the OpenBLAS addon is not carried (it needs the host's libopenblas).
  export HANLAB_GEMM=wasm
  exec "$node_bin" "$here/gpu-check.mjs" --data "$here/data" --checkpoint "$here/bert" "$@"
fi

# The checkout.
cd "$here/.."
exec node --import tsx scripts/gpu-check.ts "$@"
