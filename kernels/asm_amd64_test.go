//go:build amd64 && !purego && !noasm

package kernels

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEpiLayout pins the field offsets the assembly reads.
func TestEpiLayout(t *testing.T) {
	var q qEpi
	require.Equal(t, []uintptr{0, 8, 16, 24, 32, 36, 40, 44, 56, 64}, []uintptr{
		unsafe.Offsetof(q.mode), unsafe.Offsetof(q.out), unsafe.Offsetof(q.ldo), unsafe.Offsetof(q.scale),
		unsafe.Offsetof(q.zp), unsafe.Offsetof(q.lo), unsafe.Offsetof(q.hi), unsafe.Offsetof(q.mask), unsafe.Offsetof(q.pf), unsafe.Offsetof(q.pfStep)})
	var d dwEpi
	require.Equal(t, []uintptr{0, 8, 16, 24, 32}, []uintptr{
		unsafe.Offsetof(d.mode), unsafe.Offsetof(d.out), unsafe.Offsetof(d.ostride), unsafe.Offsetof(d.scale), unsafe.Offsetof(d.consts)})
}

// TestVPDPBUSDEncoding checks that the Go assembler emitted the EVEX
// (AVX512_VNNI) form of VPDPBUSD on zmm registers for every VPDPBUSD line of
// a VNNI micro-kernel: prefix 0x62, map 0F38, pp=66, L'L=512, opcode 0x50. It
// reads the bytes of each source line through the binary's pc-line table (as
// go tool objdump does; objdump itself cannot decode EVEX and prints "?"). The
// VEX form (AVX-VNNI) is not used anywhere: it cannot be tested on this CPU.
func TestVPDPBUSDEncoding(t *testing.T) {
	if testing.Short() {
		t.Skip("links a test binary")
	}
	// the VPDPBUSD lines of each generated file with VNNI kernels
	lines := map[string]map[int]bool{}
	for _, name := range []string{"asm_amd64.s", "asm_qstem_amd64.s"} {
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		lines[name] = map[int]bool{}
		for i, l := range strings.Split(string(src), "\n") {
			if strings.Contains(l, "VPDPBUSD") {
				lines[name][i+1] = true
			}
		}
	}
	// go test strips the symbol table of the running binary: link one with symbols
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "kernels.test")
	if out, err := exec.Command(gobin, "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	text := f.Section(".text")
	pcln, err := f.Section(".gopclntab").Data()
	require.NoError(t, err)
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pcln, text.Addr))
	require.NoError(t, err)
	checked := 0
	for _, sym := range syms {
		vnni := strings.HasPrefix(sym.Name, "github.com/warboy-sim/warboy/kernels.qgemmVNNI_") ||
			strings.HasPrefix(sym.Name, "github.com/warboy-sim/warboy/kernels.depthwiseVNNI_") ||
			strings.HasPrefix(sym.Name, "github.com/warboy-sim/warboy/kernels.qstemVNNI")
		if !vnni || !strings.HasSuffix(sym.Name, ".abi0") {
			continue
		}
		code := make([]byte, sym.Size)
		_, err := text.ReadAt(code, int64(sym.Value-text.Addr))
		require.NoError(t, err)
		enc := map[int][]byte{}
		for i := range code {
			file, n, _ := tab.PCToLine(sym.Value + uint64(i))
			if lines[filepath.Base(file)][n] {
				enc[n] = append(enc[n], code[i])
			}
		}
		require.NotEmpty(t, enc, sym.Name)
		for n, b := range enc {
			if !assert.GreaterOrEqual(quietT{}, len(b), 6) {
				require.GreaterOrEqual(t, len(b), 6, "%s line %d: % x", sym.Name, n, b)
			}
			if !assert.Equal(quietT{}, byte(0x62), b[0]) {
				require.Equal(t, byte(0x62), b[0], "line %d: not EVEX: % x", n, b)
			}
			if !assert.Equal(quietT{}, byte(0x2), b[1]&0x3) {
				require.Equal(t, byte(0x2), b[1]&0x3, "line %d: map is not 0F38: % x", n, b)
			}
			if !assert.Equal(quietT{}, byte(0x1), b[2]&0x3) {
				require.Equal(t, byte(0x1), b[2]&0x3, "line %d: pp is not 66: % x", n, b)
			}
			if !assert.Equal(quietT{}, byte(0x2), (b[3]>>5)&0x3) {
				require.Equal(t, byte(0x2), (b[3]>>5)&0x3, "line %d: not 512-bit: % x", n, b)
			}
			if !assert.Equal(quietT{}, byte(0x50), b[4]) {
				require.Equal(t, byte(0x50), b[4], "line %d: opcode is not VPDPBUSD: % x", n, b)
			}
			checked++
		}
	}
	require.Greater(t, checked, 100)
	t.Logf("%d VPDPBUSD instructions checked", checked)
}

// TestGeneratedAssemblyUpToDate regenerates the assembly and stubs with the
// committed avo generator and requires them to be byte-identical.
func TestGeneratedAssemblyUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the avo generator")
	}
	dir := t.TempDir()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	gen := filepath.Join(dir, "gen")
	// _gen is a module of its own (avo is its dependency only): build it there.
	cmd := exec.Command(gobin, "build", "-o", gen, ".")
	cmd.Dir = "_gen"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	// Run it as go:generate does (from kernels/_gen, writing to ..), so that the
	// command line recorded in the headers is the same.
	sub := filepath.Join(dir, "_gen")
	require.NoError(t, os.Mkdir(sub, 0o755))
	// every kernel set, with the arguments of its go:generate line (read from
	// the sources, so that a new set cannot be left out of this check)
	sets := generateLines(t)
	require.Greater(t, len(sets), 20)
	for _, args := range sets {
		asm, stubs := args.asm, args.stubs
		cmd = exec.Command(gen, args.argv...)
		cmd.Dir = sub
		out, err = cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		for _, f := range []string{asm, stubs} {
			want, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			got, err := os.ReadFile(f)
			require.NoError(t, err)
			if !assert.True(quietT{}, bytes.Equal(want, got)) {
				require.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./kernels/...", f)
			}
		}
	}
}

func TestPeakGOPS(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		g := PeakGOPS("int8", 20*time.Millisecond)
		if Int8Path() == PathGo {
			require.Zero(t, g)
			return
		}
		require.Greater(t, g, 1.0)
		require.Greater(t, PeakGOPS("float32", 20*time.Millisecond), 1.0)
	})
}

// generateArgs is one go:generate line of the avo generator.
type generateArgs struct {
	argv       []string // the generator's arguments
	asm, stubs string   // the files it writes, relative to kernels/
}

// generateLines reads every `go run . ...` go:generate line of the package's
// Go files.
func generateLines(t *testing.T) []generateArgs {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var sets []generateArgs
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(string(src), "\n") {
			const pre = `//go:generate sh -c "cd _gen && go run . `
			if !strings.HasPrefix(line, pre) {
				continue
			}
			argv := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, pre), `"`))
			g := generateArgs{argv: argv}
			for i := 0; i+1 < len(argv); i++ {
				switch argv[i] {
				case "-out":
					g.asm = strings.TrimPrefix(argv[i+1], "../")
				case "-stubs":
					g.stubs = strings.TrimPrefix(argv[i+1], "../")
				}
			}
			require.NotEmpty(t, g.asm, "%s: %s", f, line)
			require.NotEmpty(t, g.stubs, "%s: %s", f, line)
			sets = append(sets, g)
		}
	}
	return sets
}
