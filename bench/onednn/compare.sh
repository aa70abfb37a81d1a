#!/bin/sh
# Side-by-side figures for kernels/README.md: oneDNN (Debian libdnnl-dev) and
# warboy's kernels, measured in one run on the same machine.
#   bench/onednn/compare.sh [seconds-per-case]
set -e
cd "$(dirname "$0")"
T=${1:-1}
./build.sh
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== oneDNN $(dpkg-query -W -f '${Version}' libdnnl-dev 2>/dev/null || echo '?'), 1 thread"
OMP_NUM_THREADS=1 ./gemm_bench "$T"
echo "== oneDNN, 2 threads"
OMP_NUM_THREADS=2 ./gemm_bench "$T"
echo "== oneDNN restricted to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2), 1 thread"
ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 ./gemm_bench "$T"
echo "== warboy kernels"
cd ../..
WARBOY_KERNEL_REPORT=1 WARBOY_KERNEL_REPORT_TIME="${T}s" go test ./kernels -run TestKernelReport -v -count=1 -timeout 60m | grep '|'
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
