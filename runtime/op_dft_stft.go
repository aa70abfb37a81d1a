package runtime

// STFT (opset 17) on float32: the log-mel front end the newer exporters write
// with the STFT operator. Each frame (frame_step apart, times the window when
// there is one) is transformed by the FFT of op_dft_fft.go in float64 and rounded
// once to float32 (until the twentieth session a direct DFT from a cos/sin table,
// frame_length x bins products per frame).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

type stftKernel struct {
	onesided bool
	plans    dftPlans
}

func buildSTFT(b *BuildContext) (Kernel, error) {
	k := &stftKernel{onesided: b.Node.AttrInt("onesided", 1) != 0}
	// Plan at build time when the frame length and the signal's kind are known.
	x := b.Input(0)
	if x == nil || !x.HasShape || len(x.Shape) != 3 || !x.Shape[2].Known() {
		return k, nil
	}
	wlen, flen := -1, -1
	if w := b.Input(2); w != nil && len(b.Node.Inputs) > 2 && b.Node.Inputs[2] != "" {
		if !w.HasShape || len(w.Shape) != 1 || !w.Shape[0].Known() {
			return k, nil
		}
		wlen = w.Shape[0].Size
	}
	if t := b.Const(3); t != nil {
		v, err := scalarInt(t, "frame_length")
		if err != nil {
			return k, nil
		}
		flen = v
	}
	if frame, err := graph.STFTFrameLength(wlen, flen); err == nil && frame >= 1 && frame <= fftMaxLength {
		_, _ = k.plans.get(frame, x.Shape[2].Size == 1)
	}
	return k, nil
}

func (k *stftKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 {
		return nil, fmt.Errorf("signal must be float32, is %s", x.DType)
	}
	if len(x.Shape) != 3 || (x.Shape[2] != 1 && x.Shape[2] != 2) {
		return nil, fmt.Errorf("signal must be [batch, length, 1 or 2], has shape %v", x.Shape)
	}
	comps := x.Shape[2]
	if comps == 2 && k.onesided {
		return nil, fmt.Errorf("onesided output of a complex signal (ONNX defines it for real signals only)")
	}
	step, err := scalarInt(in[1], "frame_step")
	if err != nil {
		return nil, err
	}
	win, wlen := optInput(in, 2), -1
	if win != nil {
		if win.DType != graph.Float32 || len(win.Shape) != 1 {
			return nil, fmt.Errorf("window must be a 1-D float32 tensor, is %s %v", win.DType, win.Shape)
		}
		wlen = win.Shape[0]
	}
	flen := -1
	if t := optInput(in, 3); t != nil {
		if flen, err = scalarInt(t, "frame_length"); err != nil {
			return nil, err
		}
	}
	frame, err := graph.STFTFrameLength(wlen, flen)
	if err != nil {
		return nil, err
	}
	frames, bins, err := graph.STFTShape(x.Shape[1], frame, step, k.onesided)
	if err != nil {
		return nil, err
	}
	shape := []int{x.Shape[0], frames, bins, 2}
	if err := checkSize(shape, "output shape"); err != nil {
		return nil, err
	}
	if frame > fftMaxLength {
		return nil, fmt.Errorf("frame length %d is too long (at most %d)", frame, fftMaxLength)
	}
	plan, err := k.plans.get(frame, comps == 1)
	if err != nil {
		return nil, err
	}
	src, out := x.F32(), make([]float32, graph.NumElements(shape))
	var wv []float32
	if win != nil {
		wv = win.F32()
	}
	gain := func(n int) float64 {
		if wv == nil {
			return 1
		}
		return float64(wv[n])
	}
	parallelForGrain(ctx.Threads, x.Shape[0]*frames, fftGrain(frame), func(lo, hi int) {
		w := plan.newWork()
		for s := lo; s < hi; s++ {
			b, f := s/frames, s%frames
			base := (b*x.Shape[1] + f*step) * comps
			if comps == 1 {
				for n := 0; n < frame; n++ {
					w.real[n] = gain(n) * float64(src[base+n])
				}
				plan.realForward(w)
				for q := frame/2 + 1; q < bins; q++ {
					w.out[q] = complex(real(w.out[frame-q]), -imag(w.out[frame-q]))
				}
			} else {
				for n := 0; n < frame; n++ {
					g := gain(n)
					w.in[n] = complex(g*float64(src[base+2*n]), g*float64(src[base+2*n+1]))
				}
				plan.cplx.transform(w.out, w.in, w.work)
			}
			o := out[s*bins*2:]
			for q := 0; q < bins; q++ {
				o[2*q], o[2*q+1] = float32(real(w.out[q])), float32(imag(w.out[q]))
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
}

func init() {
	Register(OpInfo{OpType: "STFT", Build: buildSTFT})
}
