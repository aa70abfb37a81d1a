#!/bin/sh
# Builds the oneDNN comparison program (needs Debian's libdnnl-dev: apt-get install libdnnl-dev).
#   bench/onednn/build.sh && OMP_NUM_THREADS=1 bench/onednn/gemm_bench [seconds-per-case]
# ONEDNN_MAX_CPU_ISA=AVX2 restricts oneDNN to AVX2 (to compare with our AVX2 path).
set -e
cd "$(dirname "$0")"
${CXX:-g++} -O2 -std=c++17 -o gemm_bench gemm_bench.cpp -ldnnl
echo "built $(pwd)/gemm_bench"
