package runtime

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// textbookDFT is the O(n²) forward DFT in float64, each angle from (k·j mod n)/n.
func textbookDFT(x []complex128) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	for k := range out {
		var s complex128
		for j, v := range x {
			a := -2 * math.Pi * float64(k*j%n) / float64(n)
			s += v * complex(math.Cos(a), math.Sin(a))
		}
		out[k] = s
	}
	return out
}

func maxAbs(v []complex128) float64 {
	m := 0.0
	for _, c := range v {
		m = max(m, cmplx.Abs(c))
	}
	return m
}

// fftTestLengths are 1..160 (every radix, the primes up to 31 as generic
// butterflies, 37..157 and their multiples by Bluestein) and a few longer ones.
func fftTestLengths() []int {
	var ls []int
	for n := 1; n <= 160; n++ {
		ls = append(ls, n)
	}
	return append(ls, 200, 256, 400, 512, 1000, 1021, 1024, 2*1021, 4096)
}

// Every plan (mixed radix, generic radix, Bluestein) and the real-signal path
// agree with the textbook DFT in float64 to within a few units of float64 rounding
// times log n, far below float32's rounding.
func TestFFTPlansMatchTextbook(t *testing.T) {
	r := rand.New(rand.NewSource(41))
	for _, n := range fftTestLengths() {
		x := make([]complex128, n)
		xr := make([]float64, n)
		for i := range x {
			x[i] = complex(r.Float64()*2-1, r.Float64()*2-1)
			xr[i] = r.Float64()*2 - 1
		}
		tol := 1e-13 * math.Sqrt(float64(n)) * math.Log2(float64(n)+1) * maxAbs(x) * math.Sqrt(float64(n))
		p, err := newFFTPlan(n)
		require.NoError(t, err, "n=%d", n)
		got := make([]complex128, n)
		p.transform(got, x, make([]complex128, p.workLen()))
		want := textbookDFT(x)
		for k := range want {
			require.InDelta(t, 0, cmplx.Abs(got[k]-want[k]), tol, "complex n=%d bin %d", n, k)
		}
		d, err := newDFTPlan(n, true)
		require.NoError(t, err)
		w := d.newWork()
		copy(w.real, xr)
		d.realForward(w)
		xc := make([]complex128, n)
		for i, v := range xr {
			xc[i] = complex(v, 0)
		}
		want = textbookDFT(xc)
		for k := 0; k <= n/2; k++ {
			require.InDelta(t, 0, cmplx.Abs(w.out[k]-want[k]), tol, "real n=%d bin %d", n, k)
		}
	}
}

func TestFFTPlanKinds(t *testing.T) {
	cases := []struct {
		n         int
		bluestein bool
		radices   []int
	}{
		{1, false, nil},
		{256, false, []int{4, 4, 4, 4}},
		{200, false, []int{5, 5, 2, 4}},
		{31 * 3, false, []int{31, 3}},
		{37, true, nil},
		{2 * 1021, true, nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			p, err := newFFTPlan(tc.n)
			require.NoError(t, err)
			assert.Equal(t, tc.bluestein, p.blue != nil)
			var got []int
			for _, st := range p.stages {
				got = append(got, st.p)
			}
			assert.Equal(t, tc.radices, got, "radices, innermost pass first")
		})
	}
	_, err := newFFTPlan(fftMaxLength + 1)
	assert.ErrorContains(t, err, "out of range")
}

// dftCase is one randomly drawn DFT node and input.
type dftCase struct {
	shape             []int
	axis              int
	length            int // dft_length, 0: none
	onesided, inverse bool
}

func (c dftCase) String() string {
	return fmt.Sprintf("shape %v axis %d dft_length %d onesided %v inverse %v", c.shape, c.axis, c.length, c.onesided, c.inverse)
}

// The DFT operator over lengths 1..160 and beyond, with a random mix of real and
// complex input, onesided, inverse, zero padding and truncation, axis and batch
// axes, against the complex128 textbook DFT (dftRef): the FFT is rounded once to
// float32 as the reference is, so they agree to float32's rounding.
func TestDFTFFTProperty(t *testing.T) {
	r := rand.New(rand.NewSource(97))
	for _, n := range fftTestLengths() {
		if n > 1024 {
			continue // the O(n²) reference per signal
		}
		c := dftCase{}
		rank := 2 + r.Intn(3) // the component axis and 1..3 others
		c.shape = make([]int, rank)
		for i := range c.shape[:rank-1] {
			c.shape[i] = 1 + r.Intn(3)
		}
		c.axis = r.Intn(rank - 1)
		c.shape[c.axis] = n
		c.shape[rank-1] = 1 + r.Intn(2)
		switch r.Intn(3) {
		case 1: // zero padding
			c.length = n + 1 + r.Intn(n+3)
		case 2: // truncation (or the same length, given explicitly)
			c.length = 1 + r.Intn(n)
		}
		c.inverse = r.Intn(3) == 0
		c.onesided = !c.inverse && c.shape[rank-1] == 1 && r.Intn(2) == 0
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, c.shape)
			for i := range x.F32() {
				x.F32()[i] = r.Float32()*2 - 1
			}
			node := &graph.Node{OpType: "DFT", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			node.SetAttrInt("axis", int64(c.axis-rank*r.Intn(2))) // negative half of the time
			node.SetAttrInt("onesided", map[bool]int64{true: 1}[c.onesided])
			node.SetAttrInt("inverse", map[bool]int64{true: 1}[c.inverse])
			ins := []*graph.Tensor{x}
			l := n
			if c.length > 0 {
				l = c.length
				node.Inputs = append(node.Inputs, "len")
				ins = append(ins, graph.FromInt64(nil, []int64{int64(l)}))
			}
			outer := graph.NumElements(c.shape[:c.axis])
			inner := graph.NumElements(c.shape[c.axis+1 : rank-1])
			want := dftRef(x.F32(), outer, n, inner, c.shape[rank-1], l, c.onesided, c.inverse)
			scale := 0.0
			for _, v := range want {
				scale = max(scale, math.Abs(float64(v)))
			}
			got, err := runNodeWith(t, 17, 2, node, []bool{false, r.Intn(2) == 0}, ins...)
			require.NoError(t, err, "%v", c)
			wantShape := append([]int{}, c.shape...)
			wantShape[c.axis], wantShape[rank-1] = graph.DFTOutLength(l, c.onesided), 2
			require.Equal(t, wantShape, got[0].Shape, "%v", c)
			assert.InDeltaSlice(t, want, got[0].F32(), 1e-6*(1+scale), "%v", c)
		})
	}
}

// STFT frames of every kind of length: radix 4 and 2, generic radices, Bluestein.
func TestSTFTFFTFrameLengths(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, frame := range []int{1, 2, 7, 37, 64, 74, 100, 127, 400} {
		for _, comps := range []int{1, 2} {
			t.Run(fmt.Sprintf("frame %d comps %d", frame, comps), func(t *testing.T) {
				length, step := 2*frame+3, max(1, frame/2)
				x := graph.NewTensor(graph.Float32, []int{2, length, comps})
				for i := range x.F32() {
					x.F32()[i] = r.Float32()*2 - 1
				}
				wt := graph.NewTensor(graph.Float32, []int{frame})
				for i := range wt.F32() {
					wt.F32()[i] = r.Float32()
				}
				onesided := comps == 1
				n := &graph.Node{OpType: "STFT", Inputs: []string{"x", "step", "w"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
				n.SetAttrInt("onesided", map[bool]int64{true: 1}[onesided])
				want, shape := stftRef(x.F32(), 2, length, comps, wt.F32(), frame, step, onesided)
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(float64(v)))
				}
				got, err := runNodeWith(t, 17, 2, n, []bool{false, true, true}, x, graph.FromInt64(nil, []int64{int64(step)}), wt)
				require.NoError(t, err)
				require.Equal(t, shape, got[0].Shape)
				assert.InDeltaSlice(t, want, got[0].F32(), 1e-6*(1+scale))
			})
		}
	}
}

// One DFT kernel run from several goroutines at lengths it has not planned: the
// plan cache is shared (go test -race).
func TestDFTConcurrentLengths(t *testing.T) {
	n := &graph.Node{Name: "dft", OpType: "DFT", Inputs: []string{"x", "len"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	k, err := buildDFT(&BuildContext{Node: n, Opset: 17})
	require.NoError(t, err)
	x := graph.NewTensor(graph.Float32, []int{1, 50, 1})
	for i := range x.F32() {
		x.F32()[i] = float32(i%7) - 3
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := []int{50, 64, 37, 81}[g%4]
			out, err := k.Run(&ExecContext{Threads: 1}, []*graph.Tensor{x, graph.FromInt64(nil, []int64{int64(l)})})
			if err == nil && out[0].Shape[1] != l {
				err = fmt.Errorf("length %d gave shape %v", l, out[0].Shape)
			}
			errs[g] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

// BenchmarkDFTLogMel is the front end of logmel_dft_op17: 39 frames of 200
// samples, zero padded to 256, onesided.
func BenchmarkDFTLogMel(b *testing.B) {
	n := &graph.Node{OpType: "DFT", Inputs: []string{"x", "len"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrInt("axis", 2)
	n.SetAttrInt("onesided", 1)
	k, err := buildDFT(&BuildContext{Node: n, Opset: 17})
	require.NoError(b, err)
	x := graph.NewTensor(graph.Float32, []int{1, 39, 200, 1})
	for i := range x.F32() {
		x.F32()[i] = float32(math.Sin(float64(i) * 0.1))
	}
	in := []*graph.Tensor{x, graph.FromInt64(nil, []int64{256})}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(&ExecContext{Threads: 1}, in); err != nil {
			b.Fatal(err)
		}
	}
}
