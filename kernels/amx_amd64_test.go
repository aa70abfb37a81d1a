//go:build amd64 && !purego && !noasm

package kernels

import (
	"bufio"
	"bytes"
	"debug/elf"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAMXBlock checks the AMX block kernels (both row-tile counts, both
// column-tile counts, several groups, row tails, kernel-row segments) against
// the reference GEMM. It needs an AMX CPU; elsewhere the GEMM tests run the
// other paths (forEachPath).
func TestAMXBlock(t *testing.T) {
	if !amxOK {
		t.Skip("no AMX on this CPU (or Linux refused the tile state)")
	}
	r := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		rows, n, kb, nseg int
		pad               int // extra bytes per A row (lda = kb·64 + pad)
	}{
		{16, 16, 1, 1, 0}, {1, 16, 1, 1, 0}, {5, 32, 2, 1, 3}, {16, 48, 1, 1, 0}, {17, 16, 1, 1, 0},
		{32, 32, 3, 1, 64}, {31, 80, 2, 3, 0}, {32, 256, 4, 1, 0}, {20, 33, 1, 2, 7}, {32, 512, 9, 1, 0},
	}
	for _, c := range cases {
		seg := c.kb * 64
		k := seg * c.nseg
		lda := seg + c.pad
		sstride := c.rows * lda // segments one after the other
		a := randI8(r, c.nseg*sstride, -128, 127)
		a[0], a[1] = -128, -128
		w := randI8(r, c.n*k, -127, 127)
		w[0], w[1] = 127, -127
		bias := randI32(r, c.n, 1<<20)
		pw, err := PackQGemm(c.n, k, w, bias, 0)
		require.NoError(t, err)
		// the reference's row r: the row's segments one after the other
		flat := make([]int8, c.rows*k)
		for i := 0; i < c.rows; i++ {
			for s := 0; s < c.nseg; s++ {
				copy(flat[i*k+s*seg:i*k+(s+1)*seg], a[s*sstride+i*lda:])
			}
		}
		want := refQGemmAcc(c.rows, c.n, k, flat, k, w, bias, 0)
		ldc := pw.panels*qPanel + 5
		got := make([]int32, c.rows*ldc)
		amxBlock(a, lda, c.kb, c.nseg, sstride, pw.data, pw.kp, pw.bias, 0, pw.panels, c.rows, got, ldc, nil)
		for i := 0; i < c.rows; i++ {
			if !assert.Equal(quietT{}, want[i*c.n:(i+1)*c.n], got[i*ldc:i*ldc+c.n]) {
				require.Equal(t, want[i*c.n:(i+1)*c.n], got[i*ldc:i*ldc+c.n], "%+v row %d", c, i)
			}
		}
	}
}

// TestAMXBytesMatchAs assembles the AT&T text of every AMX instruction of
// the generated asm_amx_amd64.s (the "// amx:" comments) with binutils `as`
// and compares the bytes with the BYTE directives that follow each comment.
func TestAMXBytesMatchAs(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("binutils as not installed")
	}
	f, err := os.Open("asm_amx_amd64.s")
	require.NoError(t, err)
	defer f.Close()
	var text []string
	var want []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(l, "// amx: "); ok {
			text = append(text, s)
			continue
		}
		if f := strings.Fields(l); len(f) == 2 && f[0] == "BYTE" {
			v, err := strconv.ParseUint(strings.TrimPrefix(f[1], "$"), 0, 8)
			require.NoError(t, err, l)
			want = append(want, byte(v))
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, text)
	dir := t.TempDir()
	src, obj := filepath.Join(dir, "amx.s"), filepath.Join(dir, "amx.o")
	require.NoError(t, os.WriteFile(src, []byte(strings.Join(text, "\n")+"\n"), 0o644))
	if out, err := exec.Command(as, "--64", "-o", obj, src).CombinedOutput(); err != nil {
		t.Skipf("as cannot assemble AMX (binutils before 2.36?): %v\n%s", err, out)
	}
	ef, err := elf.Open(obj)
	require.NoError(t, err)
	defer ef.Close()
	got, err := ef.Section(".text").Data()
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "generated % x\nas gives   % x", want, got)
}

// TestAMXEpiLayout pins the field offsets of amxEpi that the fused kernels
// read (amxEp* in kernels/_gen/gen_amx.go).
func TestAMXEpiLayout(t *testing.T) {
	var e amxEpi
	got := []uintptr{unsafe.Offsetof(e.out), unsafe.Offsetof(e.scale), unsafe.Offsetof(e.rowoff), unsafe.Offsetof(e.rows),
		unsafe.Offsetof(e.ncols), unsafe.Offsetof(e.zp), unsafe.Offsetof(e.lo), unsafe.Offsetof(e.hi), unsafe.Offsetof(e.col)}
	require.Equal(t, []uintptr{0, 8, 16, 24, 32, 40, 44, 48, 56}, got)
}

// TestAMXRunRanges covers the AMX driver's splits that the shared GEMM and
// convolution tables do not reach: weights over amxBBudget (several panel
// runs, the column split at 2 threads) and an im2col convolution of more
// than amxPackRows output pixels, against the references, in both
// requantization modes.
func TestAMXRunRanges(t *testing.T) {
	if !amxOK {
		t.Skip("no AMX on this CPU (or Linux refused the tile state)")
	}
	r := rand.New(rand.NewPCG(21, 22))
	m, n, k := 40, 300, 4096
	a := randI8(r, m*k, -128, 127)
	w := randI8(r, n*k, -127, 127)
	bias := randI32(r, n, 1<<16)
	pw, err := PackQGemm(n, k, w, bias, 5)
	require.NoError(t, err)
	require.Greater(t, pw.panels*qPanel*pw.kp, amxBBudget)
	want := refQGemmAcc(m, n, k, a, k, w, bias, 5)
	s := ConvShape{N: 1, H: 48, W: 47, C: 64, OC: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	require.Greater(t, s.OutH()*s.OutW(), amxPackRows)
	cw := randI8(r, s.OC*s.C*9, -127, 127)
	cb := randI32(r, s.OC, 1<<12)
	in := randI8(r, s.H*s.W*s.C, -128, 127)
	pc, err := PackQConv(s, cw, cb, -7)
	require.NoError(t, err)
	acc := refConvAcc(s, in, cw, cb, -7)
	for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
		for _, threads := range []int{1, 2} {
			got32 := make([]int32, m*n)
			QGemmInt32(m, a, k, pw, got32, n, threads)
			if !assert.Equal(quietT{}, want, got32) {
				require.Equal(t, want, got32, "threads %d", threads)
			}
			rq := NewRequant(mode, []float64{1.0 / 3000}, 3, -128, 127)
			got := make([]int8, m*n)
			QGemm(m, a, k, pw, got, n, rq, threads)
			if !assert.Equal(quietT{}, refRequant(want, n, rq), got) {
				require.Equal(t, refRequant(want, n, rq), got, "mode %v threads %d", mode, threads)
			}
			rqc := NewRequant(mode, []float64{1.0 / 500}, -2, -128, 127)
			gotc := make([]int8, len(acc))
			QConv(s, in, pc, gotc, rqc, threads)
			if !assert.Equal(quietT{}, refRequant(acc, s.OC, rqc), gotc) {
				require.Equal(t, refRequant(acc, s.OC, rqc), gotc, "conv mode %v threads %d", mode, threads)
			}
		}
	}
}

// TestAMXEpiPointersStay checks that the fused kernels leave the pointer
// fields of the descriptor where they were: the garbage collector scans it,
// and a pointer moved past its object crashed it ("found bad pointer in Go
// heap") before the kernels moved ep.col instead.
func TestAMXEpiPointersStay(t *testing.T) {
	if !amxOK {
		t.Skip("no AMX on this CPU (or Linux refused the tile state)")
	}
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{16, 40, 64, 80} {
		k, rows := 128, 20
		w, bias := randI8(r, n*k, -127, 127), randI32(r, n, 1000)
		pw, err := PackQGemm(n, k, w, bias, 0)
		require.NoError(t, err)
		a := randI8(r, rows*k, -128, 127)
		out := make([]int8, rows*n)
		scale := make([]float32, n)
		for i := range scale {
			scale[i] = 1.0 / 2000
		}
		var rowoff [amxRowBlock]int64
		for i := range rowoff[:rows] {
			rowoff[i] = int64(i * n)
		}
		ep := amxEpi{out: &out[0], scale: &scale[0], rowoff: &rowoff[0], rows: int64(rows), ncols: int64(n), lo: -128, hi: 127}
		var scratch [amxRowBlock * 2 * qPanel]int32
		amxBlock(a, k, k/64, 1, 0, pw.data, pw.kp, pw.bias, 0, pw.panels, rows, scratch[:], 2*qPanel, &ep)
		if !assert.True(quietT{}, ep.out == &out[0] && ep.scale == &scale[0] && ep.rowoff == &rowoff[0]) {
			require.True(t, ep.out == &out[0] && ep.scale == &scale[0] && ep.rowoff == &rowoff[0], "n=%d", n)
		}
		if !assert.Equal(quietT{}, int64(16*pw.panels), ep.col) {
			require.Equal(t, int64(16*pw.panels), ep.col, "n=%d", n)
		}
		rq := NewRequant(RequantFloat, []float64{1.0 / 2000}, 0, -128, 127)
		if !assert.Equal(quietT{}, refRequant(refQGemmAcc(rows, n, k, a, k, w, bias, 0), n, rq), out) {
			require.Equal(t, refRequant(refQGemmAcc(rows, n, k, a, k, w, bias, 0), n, rq), out, "n=%d", n)
		}
	}
}
