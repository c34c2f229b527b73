#!/usr/bin/env bash
# Compiles gpu-kernels' CUDA sources.
#
#   scripts/build-ptx.sh               regenerate the committed PTX (compute_80, JIT-compiled by the
#                                      driver for any newer GPU) from every gpu-kernels/src/main/cuda/*.cu;
#                                      each file's first line records the sha256 of its source, which
#                                      PtxUpToDateTest checks.
#   scripts/build-ptx.sh --cubins DIR  only build cubins for sm_80 and sm_90 into
#                                      DIR/dev/loupe/gpu/kernels/sm_XX/NAME.cubin (the Maven build runs
#                                      this into target/classes; never committed). Skips quietly
#                                      without nvcc and for cubins newer than their source.
#
# nvcc is found on PATH, else in $CUDA_HOME/bin, /usr/local/cuda/bin or /usr/local/bin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/gpu-kernels/src/main/cuda"
ptx_dir="$root/gpu-kernels/src/main/resources/dev/loupe/gpu/kernels"

nvcc="$(command -v nvcc || true)"
for candidate in "${CUDA_HOME:-/nonexistent}/bin/nvcc" /usr/local/cuda/bin/nvcc /usr/local/bin/nvcc; do
  [[ -z "$nvcc" && -x "$candidate" ]] && nvcc="$candidate"
done

if [[ "${1:-}" == "--cubins" ]]; then
  out="${2:?--cubins needs an output folder}"
  if [[ -z "$nvcc" ]]; then
    echo "build-ptx: no nvcc; skipping cubins (the committed PTX is JIT-compiled by the driver instead)"
    exit 0
  fi
  for cu in "$src"/*.cu; do
    name="$(basename "$cu" .cu)"
    for sm in 80 90; do
      cubin="$out/dev/loupe/gpu/kernels/sm_$sm/$name.cubin"
      if [[ -f "$cubin" && "$cubin" -nt "$cu" ]]; then continue; fi
      mkdir -p "$(dirname "$cubin")"
      "$nvcc" -cubin -arch="sm_$sm" -O3 -o "$cubin" "$cu"
      echo "build-ptx: $cubin"
    done
  done
  exit 0
fi

if [[ -z "$nvcc" ]]; then
  echo "build-ptx: nvcc not found; install the CUDA toolkit (it provides nvcc) or set CUDA_HOME" >&2
  exit 1
fi
mkdir -p "$ptx_dir"
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  sha="$(sha256sum "$cu" | cut -d' ' -f1)"
  tmp="$(mktemp --suffix=.ptx)"
  "$nvcc" -ptx -arch=compute_80 -O3 -o "$tmp" "$cu"
  # nvcc stamps its own PTX ISA version (9.0 for CUDA 13), which drivers older than the toolkit
  # refuse. The kernels use nothing newer than ISA 7.0 (the first with sm_80), so the PTX says
  # 7.0 and loads on any driver from CUDA 11.0 on; ptxas (through nvcc) checks that claim for sm_80 and sm_90.
  sed -i 's/^\.version [0-9.]*$/.version 7.0/' "$tmp"
  for sm in 80 90; do
    "$nvcc" -cubin -arch="sm_$sm" -o /dev/null "$tmp"
  done
  { echo "// loupe-source-sha256: $sha $name.cu"; cat "$tmp"; } > "$ptx_dir/$name.ptx"
  rm -f "$tmp"
  echo "build-ptx: $ptx_dir/$name.ptx"
done
