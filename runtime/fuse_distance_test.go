package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFusedDistanceMatchesReference: Sub → ReduceSumSquare / ReduceL2 over
// random broadcasting shapes (each kept axis shared, broadcast on either
// side or missing from the shorter operand), keepdims 0 and 1, float32 and
// float64, 1 and 2 threads, against the graph run operator by operator with
// every tensor tapped (no fusion). Reductions over another axis and an
// operand broadcast along the reduced axis run unfused and must agree too.
func TestFusedDistanceMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	for trial := 0; trial < 120; trial++ {
		rank := 1 + rng.Intn(4)
		k := 1 + rng.Intn(70)
		as, bs := make([]int, rank), make([]int, rank)
		for i := 0; i < rank-1; i++ {
			d := 1 + rng.Intn(6)
			switch rng.Intn(4) {
			case 0:
				as[i], bs[i] = d, d
			case 1:
				as[i], bs[i] = 1, d
			case 2:
				as[i], bs[i] = d, 1
			default:
				as[i], bs[i] = 1, 1
			}
		}
		as[rank-1], bs[rank-1] = k, k
		fusable := true
		if rng.Intn(8) == 0 { // broadcast along the reduced axis
			as[rank-1], fusable = 1, false
		}
		axis := int64(-1)
		if rank > 1 && rng.Intn(8) == 0 {
			axis, fusable = 0, false
		}
		drop := 0
		if rank > 1 && rng.Intn(2) == 0 {
			drop = rng.Intn(rank) // b lacks the leading axes
		}
		bShape := bs[drop:]
		if drop > 0 {
			for _, d := range bs[:drop] {
				if d != 1 {
					bShape = bs // only drop axes of extent 1
					break
				}
			}
		}
		op := []string{"ReduceSumSquare", "ReduceL2"}[rng.Intn(2)]
		keep := int64(rng.Intn(2))
		f64 := rng.Intn(3) == 0
		name := fmt.Sprintf("%d:%s %v-%v axis %d keep %d f64 %v", trial, op, as, bShape, axis, keep, f64)
		b := newMB(int64(trial))
		dims := func(s []int) []graph.Dim {
			d := make([]graph.Dim, len(s))
			for i, v := range s {
				d[i] = graph.Dim{Size: v}
			}
			return d
		}
		b.Input("a", dims(as)...)
		b.Input("b", dims(bShape)...)
		y := b.Node(op, []string{b.Node("Sub", []string{"a", "b"})},
			&graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{axis}}, &graph.Attr{Name: "keepdims", Type: graph.AttrInt, I: keep})
		b.Output(y)
		m := b.Model()
		in := map[string]*graph.Tensor{"a": randInput(rng, as, -3, 3), "b": randInput(rng, bShape, -3, 3)}
		if f64 {
			for _, v := range m.Graph.Inputs {
				v.DType = graph.Float64
			}
			m.Graph.Outputs[0].DType = graph.Float64
			for k, v := range in {
				d := make([]float64, v.Len())
				for i, f := range v.F32() {
					d[i] = float64(f)
				}
				in[k] = &graph.Tensor{DType: graph.Float64, Shape: v.Shape, Data: d}
			}
		}
		ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
		require.NoError(t, err, name)
		want, err := ref.RunTensors(in)
		require.NoError(t, err, name)
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
			require.NoError(t, err, name)
			fused := 0
			for _, st := range s.steps {
				if _, ok := st.kernel.(*distanceKernel); ok {
					fused++
				}
			}
			assert.Equal(t, 1, fused, name)
			got, err := s.RunTensors(in)
			require.NoError(t, err, name)
			w, g := want[y], got[y]
			require.Equal(t, w.Shape, g.Shape, name)
			wf, err := w.AsFloat64()
			require.NoError(t, err)
			gf, err := g.AsFloat64()
			require.NoError(t, err)
			tol := 2.5e-7
			if f64 {
				tol = 1e-14
			}
			for i := range wf {
				require.InDeltaf(t, wf[i], gf[i], tol*math.Max(1, math.Abs(wf[i])), "%s threads %d [%d] (fusable %v)", name, threads, i, fusable)
			}
		}
	}
}

// TestPowConstMatchesMathPow: Pow by a constant exponent (float32 or int64
// initializer) on float32 and float64 bases with zeros, negatives,
// infinities, NaN and subnormals: the bits of math.Pow (rounded to float32
// for float32 bases) for 0, 1, 2, 3, -1, ±0.5 and on float64; within 1 ulp
// of float32 for the others.
func TestPowConstMatchesMathPow(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	special := []float64{0, math.Copysign(0, -1), 1, -1, -2.5, 2, math.Inf(1), math.Inf(-1), math.NaN(), 1e-40, 3.4e38, 0.49999976}
	for _, c := range []struct {
		e     float64
		int64 bool
		exact bool
	}{
		{0, false, true}, {1, false, true}, {2, false, true}, {2, true, true}, {3, true, true}, {-1, false, true},
		{0.5, false, true}, {-0.5, false, true}, {float64(float32(0.49999976)), false, false}, {float64(float32(1.0 / 3)), false, false},
		{-2.5, false, false}, {70, false, false},
	} {
		for _, f64 := range []bool{false, true} {
			name := fmt.Sprintf("e=%g int64=%v f64=%v", c.e, c.int64, f64)
			b := newMB(1)
			b.Input("x", graph.Dim{Size: 3}, graph.Dim{Size: 333})
			var e string
			if c.int64 {
				e = b.Init("e", graph.FromInt64(nil, []int64{int64(c.e)}))
			} else {
				e = b.Init("e", graph.FromFloat32([]int{1}, []float32{float32(c.e)}))
			}
			y := b.Node("Pow", []string{"x", e})
			b.Output(y)
			m := b.Model()
			xs := make([]float64, 999)
			for i := range xs {
				switch i % 3 {
				case 0:
					xs[i] = special[rng.Intn(len(special))]
				case 1:
					xs[i] = rng.Float64() * 10
				default:
					xs[i] = math.Exp(rng.NormFloat64() * 5)
				}
			}
			var x *graph.Tensor
			if f64 {
				m.Graph.Inputs[0].DType, m.Graph.Outputs[0].DType = graph.Float64, graph.Float64
				x = &graph.Tensor{DType: graph.Float64, Shape: []int{3, 333}, Data: xs}
			} else {
				d := make([]float32, len(xs))
				for i, v := range xs {
					d[i] = float32(v)
				}
				x = graph.FromFloat32([]int{3, 333}, d)
			}
			s, err := NewSession(m, WithMode(ModeFloat), WithThreads(2))
			require.NoError(t, err, name)
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err, name)
			out := got[y]
			require.Equal(t, []int{3, 333}, out.Shape, name)
			if f64 {
				for i, v := range xs {
					want, g := math.Pow(v, c.e), out.Data.([]float64)[i]
					if c.e == 2 && math.Abs(want) < 1e-300 {
						continue // x·x and math.Pow may round a subnormal square differently
					}
					require.Truef(t, want == g || want != want && g != g, "%s x=%g: got %g want %g", name, v, g, want)
				}
				continue
			}
			for i, v := range x.F32() {
				want, g := float32(math.Pow(float64(v), c.e)), out.F32()[i]
				if math.Float32bits(want) == math.Float32bits(g) || want != want && g != g {
					continue
				}
				require.Falsef(t, c.exact, "%s x=%g: got %g want %g", name, v, g, want)
				ulp := math.Abs(float64(math.Float32bits(want)) - float64(math.Float32bits(g)))
				require.LessOrEqualf(t, ulp, 1.0, "%s x=%g: got %g want %g", name, v, g, want)
			}
		}
	}
}
