package kernels

import "github.com/klauspost/cpuid/v2"

// Dispatch paths. The int8 kernels are bit-exact across all of them.
const (
	PathGo         = "go"
	PathAVX2       = "avx2"       // int8: AVX2 sign trick (vpsignb+vpmaddubsw+vpmaddwd); f32: AVX2+FMA
	PathAVX512VNNI = "avx512vnni" // int8: AVX-512 VNNI vpdpbusd on zmm (needs AVX512F+BW+VL+VNNI)
	// PathAMX is the avx512vnni path whose GEMM-shaped int8 work (1×1 and
	// im2col convolutions, MatMul/Gemm of 16 rows or more) runs on AMX tiles
	// (TDPBSSD; needs AMX-TILE+AMX-INT8 and Linux's permission for the tile
	// state); everything else runs the VNNI kernels.
	PathAMX = "amx"
)

type isaPath int

const (
	isaGo isaPath = iota
	isaAVX2
	isaVNNI
)

func (p isaPath) String() string {
	switch p {
	case isaAVX2:
		return PathAVX2
	case isaVNNI:
		return PathAVX512VNNI
	}
	return PathGo
}

var (
	int8Path isaPath // path of the int8 GEMM/conv kernels
	f32Path  isaPath // path of Sgemm (isaGo or isaAVX2)
	simdPath isaPath // path of auxiliary kernels (requant, depthwise, packing): isaGo or isaAVX2
	// f32Wide selects the AVX-512 (zmm, 32 output channels) micro-kernel of
	// SgemmRows; weights packed for it keep working on other paths.
	f32Wide bool
	// rows16Z runs the 16-wide panels of SgemmRowsIdx with the one-zmm-per-row
	// kernel instead of the AVX2 one: on CPUs with full-width 512-bit FMA
	// units (zmmFullWidth).
	rows16Z bool
	// f32Tile512 selects the AVX-512 two-panel in-place-B micro-kernel of
	// SgemmShifted (asm_sgemm512_amd64.s); it gives the AVX2 kernel's bits.
	f32Tile512 bool
	// lutVBMIOK selects the AVX-512 VBMI lookup-table kernel (LUT.Apply).
	lutVBMIOK bool
	// ew512OK selects the AVX-512 elementwise int8 kernels (QAdd/QMul).
	ew512OK bool
	// amxOK selects the AMX int8 GEMM (amx_amd64.go) on the avx512vnni path.
	amxOK bool
	// gather512OK selects the zmm 16x16 transpose of GatherTaps16F32 (qattr_amd64.go).
	gather512OK bool
	// binPath is the path of the histogram binning kernel (histbin.go): isaGo,
	// isaAVX2 or isaVNNI (standing for AVX-512F).
	binPath isaPath
)

func init() { Detect() }

// L2Bytes is the size of one core's L2 cache as cpuid reports it, 1 MiB when
// it reports none: the budget the blocking rules of the convolutions derive
// from (1 MiB on the AMD Zen 4 their constants were measured on, 2 MiB on
// the Intel Xeon of the eleventh session).
func L2Bytes() int {
	if l2 := cpuid.CPU.Cache.L2; l2 > 0 {
		return l2
	}
	return 1 << 20
}

// Detect (re)selects the kernel paths from cpuid.CPU. It runs at start-up;
// call it again after cpuid.CPU.Disable/Enable (tests, benchmarks) to force a
// fallback path. It must not run concurrently with kernels.
func Detect() {
	int8Path, f32Path, simdPath, f32Wide, lutVBMIOK, ew512OK, amxOK = isaGo, isaGo, isaGo, false, false, false, false
	f32Tile512, rows16Z, gather512OK, binPath = false, false, false, isaGo
	if !haveAsm {
		return
	}
	avx2 := cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.BMI2)
	if avx2 {
		int8Path, simdPath = isaAVX2, isaAVX2
		if cpuid.CPU.Supports(cpuid.FMA3) {
			f32Path = isaAVX2
			f32Wide = cpuid.CPU.Supports(cpuid.AVX512F)
			rows16Z = f32Wide && zmmFullWidth()
			f32Tile512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ)
		}
		if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512VNNI) {
			int8Path = isaVNNI
			amxOK = cpuid.CPU.Supports(cpuid.AMXTILE, cpuid.AMXINT8) && amxPermitted()
		}
		lutVBMIOK = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VBMI)
		ew512OK = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW)
		gather512OK = cpuid.CPU.Supports(cpuid.AVX512F)
		if cpuid.CPU.Supports(cpuid.BMI1, cpuid.POPCNT) {
			binPath = isaAVX2
			if cpuid.CPU.Supports(cpuid.AVX512F) {
				binPath = isaVNNI
			}
		}
	}
}

// Int8Path names the dispatch path of the int8 kernels: "amx", "avx512vnni", "avx2" or "go".
func Int8Path() string {
	if amxOK {
		return PathAMX
	}
	return int8Path.String()
}

// F32Path names the dispatch path of Sgemm: "avx2" (AVX2+FMA) or "go".
func F32Path() string { return f32Path.String() }

// RowsPath names the dispatch path of SgemmRows: "avx512" (zmm, 6×32 tiles),
// "avx2" (6×16) or "go".
func RowsPath() string {
	if f32Wide {
		return "avx512"
	}
	return f32Path.String()
}

// DepthwisePath names the dispatch path of the depthwise convolution kernel.
func DepthwisePath() string { return depthwisePath().String() }
