package runtime

// HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix and DFT (opset 17;
// DFT's axis input of opset 20) on float32. The windows and the filter bank are
// graph.WindowValues and graph.MelWeights (they fold to constants when their
// sizes are constant). DFT is the FFT of op_dft_fft.go per signal (float64,
// rounded once to float32; O(L log L) for every length), planned at build time
// when the length is known. STFT (op_dft_stft.go) runs on the same plans.

import (
	"fmt"
	"math/bits"
	"math/cmplx"

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
	plans             dftPlans
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
	k.planAhead(b)
	return k, nil
}

// planAhead plans the transform at build time when its length and the signal's
// kind (real or complex) are known: dft_length a constant, or the signal axis a
// fixed size. A length that is not known (or not valid: Run says why) is planned
// at its first run.
func (k *dftKernel) planAhead(b *BuildContext) {
	x := b.Input(0)
	if x == nil || !x.HasShape || len(x.Shape) < 2 {
		return
	}
	r := len(x.Shape)
	last := x.Shape[r-1]
	if !last.Known() || (last.Size != 1 && last.Size != 2) {
		return
	}
	l := -1
	if t := b.Const(1); t != nil {
		v, err := scalarInt(t, "dft_length")
		if err != nil {
			return
		}
		l = v
	} else if len(b.Node.Inputs) < 2 || b.Node.Inputs[1] == "" {
		axisV := k.axisAttr
		if k.axisInput && len(b.Node.Inputs) > 2 && b.Node.Inputs[2] != "" {
			t := b.Const(2)
			if t == nil {
				return
			}
			v, err := scalarInt(t, "axis")
			if err != nil {
				return
			}
			axisV = int64(v)
		}
		axis, err := graph.DFTAxis(axisV, r)
		if err != nil || !x.Shape[axis].Known() {
			return
		}
		l = x.Shape[axis].Size
	}
	if l >= 1 && l <= fftMaxLength {
		_, _ = k.plans.get(l, last.Size == 1)
	}
}

// fftGrain is the number of signals of length l a parallel chunk takes (about
// parallelMinWork butterfly points).
func fftGrain(l int) int {
	return max(1, parallelMinWork/(l*max(1, bits.Len(uint(l)))))
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
	if l > fftMaxLength {
		return nil, fmt.Errorf("a DFT of length %d is too long (at most %d)", l, fftMaxLength)
	}
	bins := graph.DFTOutLength(l, k.onesided)
	shape := append([]int{}, x.Shape...)
	shape[axis], shape[r-1] = bins, 2
	if err := checkSize(shape, "output shape"); err != nil {
		return nil, err
	}
	isReal := comps == 1
	plan, err := k.plans.get(l, isReal)
	if err != nil {
		return nil, err
	}
	outer := graph.NumElements(x.Shape[:axis])
	inner := graph.NumElements(x.Shape[axis+1 : r-1])
	src, out := x.F32(), make([]float32, graph.NumElements(shape))
	used := min(n, l) // samples beyond dft_length are dropped, missing ones are zeros
	inverse, scale := k.inverse, 1/float64(l)
	parallelForGrain(ctx.Threads, outer*inner, fftGrain(l), func(lo, hi int) {
		w := plan.newWork()
		for s := lo; s < hi; s++ {
			o, q := s/inner, s%inner
			at := func(j int) int { return ((o*n+j)*inner + q) * comps }
			if isReal {
				for j := 0; j < used; j++ {
					w.real[j] = float64(src[at(j)])
				}
				clear(w.real[used:])
				plan.realForward(w)
				// The upper bins of a real signal's spectrum mirror the lower ones.
				for f := l/2 + 1; f < bins; f++ {
					w.out[f] = cmplx.Conj(w.out[l-f])
				}
			} else {
				for j := 0; j < used; j++ {
					p := at(j)
					w.in[j] = complex(float64(src[p]), float64(src[p+1]))
				}
				clear(w.in[used:])
				if inverse {
					conjAll(w.in)
				}
				plan.cplx.transform(w.out, w.in, w.work)
			}
			for f := 0; f < bins; f++ {
				v := w.out[f]
				if inverse { // the inverse DFT is conj(DFT(conj(x)))/L; a real x is its own conj
					v = cmplx.Conj(v) * complex(scale, 0)
				}
				p := ((o*bins+f)*inner + q) * 2
				out[p], out[p+1] = float32(real(v)), float32(imag(v))
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
}

func conjAll(v []complex128) {
	for i, c := range v {
		v[i] = cmplx.Conj(c)
	}
}

func init() {
	for _, op := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		Register(OpInfo{OpType: op, Build: buildWindow})
	}
	Register(OpInfo{OpType: "MelWeightMatrix", Build: buildMelWeightMatrix})
	Register(OpInfo{OpType: "DFT", Build: buildDFT})
}
