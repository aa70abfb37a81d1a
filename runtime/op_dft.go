package runtime

// HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix and DFT (opset 17;
// DFT's axis input of opset 20) on float32. The windows and the filter bank are
// graph.WindowValues and graph.MelWeights (they fold to constants when their
// sizes are constant). DFT is a direct transform per signal (L·n products in
// float64 from a cosine/sine table indexed by (k·j) mod L, rounded once to
// float32), as STFT: the transform lengths of front ends and spectral masks are
// small; a long DFT is O(L²).

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

func buildWindow(b *BuildContext) (Kernel, error) {
	op, periodic := b.Node.OpType, b.Node.AttrInt("periodic", 1) != 0
	if dt := graph.DType(b.Node.AttrInt("output_datatype", int64(graph.Float32))); dt != graph.Float32 {
		return nil, fmt.Errorf("%s: %w output_datatype %s (float32 only)", b.Node.Label(), graph.ErrUnsupported, dt)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		n, err := scalarInt(in[0], "size")
		if err != nil {
			return nil, err
		}
		w, err := graph.WindowValues(op, n, periodic)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n}, Data: w}}, nil
	}), nil
}

func scalarFloat(t *graph.Tensor, what string) (float32, error) {
	if t.DType != graph.Float32 || graph.NumElements(t.Shape) != 1 || len(t.Shape) > 1 {
		return 0, fmt.Errorf("%s must be a float32 scalar, is %s %v", what, t.DType, t.Shape)
	}
	return t.F32()[0], nil
}

func buildMelWeightMatrix(b *BuildContext) (Kernel, error) {
	if dt := graph.DType(b.Node.AttrInt("output_datatype", int64(graph.Float32))); dt != graph.Float32 {
		return nil, fmt.Errorf("%s: %w output_datatype %s (float32 only)", b.Node.Label(), graph.ErrUnsupported, dt)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 5); err != nil {
			return nil, err
		}
		var ints [3]int
		for i, what := range []string{"num_mel_bins", "dft_length", "sample_rate"} {
			v, err := scalarInt(in[i], what)
			if err != nil {
				return nil, err
			}
			ints[i] = v
		}
		lo, err := scalarFloat(in[3], "lower_edge_hertz")
		if err != nil {
			return nil, err
		}
		hi, err := scalarFloat(in[4], "upper_edge_hertz")
		if err != nil {
			return nil, err
		}
		w, spec, err := graph.MelWeights(ints[0], ints[1], ints[2], lo, hi)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{spec, ints[0]}, Data: w}}, nil
	}), nil
}

type dftKernel struct {
	inverse, onesided bool
	axisAttr          int64
	axisInput         bool // opset 20: the axis is input 2 (default -2)
	// the cos/sin table of the last transform length seen (length² each)
	length   int
	cos, sin []float64
}

func buildDFT(b *BuildContext) (Kernel, error) {
	k := &dftKernel{inverse: b.Node.AttrInt("inverse", 0) != 0, onesided: b.Node.AttrInt("onesided", 0) != 0,
		axisAttr: b.Node.AttrInt("axis", 1), axisInput: b.Opset >= 20}
	if k.axisInput {
		k.axisAttr = -2
	}
	if k.inverse && k.onesided {
		return nil, fmt.Errorf("%s: %w onesided inverse DFT (the real inverse of a half spectrum)", b.Node.Label(), graph.ErrUnsupported)
	}
	return k, nil
}

func (k *dftKernel) table(l int) {
	if k.length == l {
		return
	}
	k.length = l
	k.cos, k.sin = make([]float64, l*l), make([]float64, l*l)
	for f := 0; f < l; f++ {
		for j := 0; j < l; j++ {
			a := 2 * math.Pi * float64((f*j)%l) / float64(l)
			k.cos[f*l+j], k.sin[f*l+j] = math.Cos(a), math.Sin(a)
		}
	}
}

func (k *dftKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("input must be float32, is %s", x.DType)
	}
	r := len(x.Shape)
	if r < 2 || (x.Shape[r-1] != 1 && x.Shape[r-1] != 2) {
		return nil, fmt.Errorf("input must have a signal axis and a last axis of 1 or 2, has shape %v", x.Shape)
	}
	comps := x.Shape[r-1]
	if comps == 2 && k.onesided {
		return nil, fmt.Errorf("onesided DFT of a complex input (ONNX defines it for real inputs only)")
	}
	axisV := k.axisAttr
	if t := optInput(in, 2); t != nil && k.axisInput {
		v, err := scalarInt(t, "axis")
		if err != nil {
			return nil, err
		}
		axisV = int64(v)
	}
	axis, err := graph.DFTAxis(axisV, r)
	if err != nil {
		return nil, err
	}
	n := x.Shape[axis]
	l := n
	if t := optInput(in, 1); t != nil {
		if l, err = scalarInt(t, "dft_length"); err != nil {
			return nil, err
		}
		if l < 1 {
			return nil, fmt.Errorf("dft_length %d is not positive", l)
		}
	}
	if l > 1<<14 {
		return nil, fmt.Errorf("a direct DFT of length %d is too long (at most %d)", l, 1<<14)
	}
	bins := graph.DFTOutLength(l, k.onesided)
	shape := append([]int{}, x.Shape...)
	shape[axis], shape[r-1] = bins, 2
	if err := checkSize(shape, "output shape"); err != nil {
		return nil, err
	}
	outer := graph.NumElements(x.Shape[:axis])
	inner := graph.NumElements(x.Shape[axis+1 : r-1])
	k.table(l)
	src, out := x.F32(), make([]float32, graph.NumElements(shape))
	used := min(n, l) // samples beyond dft_length are dropped, missing ones are zeros
	sign, scale := -1.0, 1.0
	if k.inverse {
		sign, scale = 1.0, 1/float64(l)
	}
	re, im := make([]float64, used), make([]float64, used)
	for o := 0; o < outer; o++ {
		for q := 0; q < inner; q++ {
			for j := 0; j < used; j++ {
				p := ((o*n+j)*inner + q) * comps
				re[j] = float64(src[p])
				im[j] = 0
				if comps == 2 {
					im[j] = float64(src[p+1])
				}
			}
			for f := 0; f < bins; f++ {
				cs, sn := k.cos[f*l:f*l+used], k.sin[f*l:f*l+used]
				var sr, si float64
				for j := range re {
					// (re + i·im)(cos + i·sign·sin)
					sr += re[j]*cs[j] - sign*im[j]*sn[j]
					si += im[j]*cs[j] + sign*re[j]*sn[j]
				}
				p := ((o*bins+f)*inner + q) * 2
				out[p], out[p+1] = float32(sr*scale), float32(si*scale)
			}
		}
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
}

func init() {
	for _, op := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		Register(OpInfo{OpType: op, Build: buildWindow})
	}
	Register(OpInfo{OpType: "MelWeightMatrix", Build: buildMelWeightMatrix})
	Register(OpInfo{OpType: "DFT", Build: buildDFT})
}
