package lower

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// ---- constants: weights and bias ------------------------------------------------------------

// qweights are constant int8 weights with their quantization parameters.
type qweights struct {
	data  []int8
	shape []int
	scale []float32 // 1 or per channel along axis
	zp    []int32   // int8 domain, 1 or per channel
	axis  int       // channel axis of scale/zp (-1 per-tensor)
}

// constWeights reads weights given as DequantizeLinear(constant int8/uint8) (QDQ) and
// returns them int8 (uint8 shifted by -128 with its zero point).
func (l *lowerer) constWeights(name string) (*qweights, error) {
	dq := l.dqConst[name]
	if dq == nil {
		return nil, notLowered("weights %q are not a quantized constant (DequantizeLinear of an initializer)", name)
	}
	x := l.constOf(dq.Input(0))
	return l.weightsFrom(x, dq.Input(1), dq.Input(2), int(dq.AttrInt("axis", 1)))
}

// weightsFrom converts constant quantized weights and their parameters.
func (l *lowerer) weightsFrom(x *graph.Tensor, scaleName, zpName string, axis int) (*qweights, error) {
	if x == nil || (x.DType != graph.Int8 && x.DType != graph.Uint8) {
		return nil, notLowered("weights are not int8/uint8 constants")
	}
	st := l.constOf(scaleName)
	if st == nil {
		return nil, notLowered("weight scale is not constant")
	}
	sf, err := st.AsFloat64()
	if err != nil {
		return nil, err
	}
	w := &qweights{shape: x.Shape, axis: -1}
	for _, v := range sf {
		if !(v > 0) {
			return nil, notLowered("weight scale %g is not positive", v)
		}
		w.scale = append(w.scale, float32(v))
	}
	if len(sf) > 1 {
		ax, err := graph.NormalizeAxis(int64(axis), len(x.Shape))
		if err != nil || x.Shape[ax] != len(sf) {
			return nil, notLowered("weight scale of %d values does not match axis %d of %v", len(sf), axis, x.Shape)
		}
		w.axis = ax
	}
	shift := int32(0)
	if x.DType == graph.Uint8 {
		shift = 128
	}
	if zpName != "" {
		zt := l.constOf(zpName)
		if zt == nil {
			return nil, notLowered("weight zero point is not constant")
		}
		z, err := zt.AsInt64()
		if err != nil {
			return nil, err
		}
		if len(z) != len(sf) {
			return nil, notLowered("weight zero point has %d values, scale %d", len(z), len(sf))
		}
		for _, v := range z {
			w.zp = append(w.zp, int32(v)-shift)
		}
	} else {
		w.zp = []int32{-shift}
	}
	if x.DType == graph.Uint8 {
		u := x.U8()
		w.data = make([]int8, len(u))
		for i, v := range u {
			w.data[i] = int8(int32(v) - 128)
		}
	} else {
		w.data = x.I8()
	}
	return w, nil
}

// perChannel expands scale/zp to n channels along axis want (or per-tensor).
func (w *qweights) perChannel(want, n int) ([]float32, []int32, error) {
	if w.axis >= 0 && w.axis != want {
		return nil, nil, notLowered("weights are quantized along axis %d, the kernel needs axis %d", w.axis, want)
	}
	sc := make([]float32, n)
	zp := make([]int32, n)
	for c := 0; c < n; c++ {
		if len(w.scale) == 1 {
			sc[c] = w.scale[0]
		} else {
			sc[c] = w.scale[c]
		}
		if len(w.zp) == 1 {
			zp[c] = w.zp[0]
		} else {
			zp[c] = w.zp[c]
		}
	}
	return sc, zp, nil
}

func compactZP(zp []int32) []int32 {
	for _, z := range zp[1:] {
		if z != zp[0] {
			return zp
		}
	}
	return zp[:1]
}

// biasInt32 returns the bias of n channels as int32 in the accumulator scale
// accScale[c] (= s_x*s_w[c], times alpha for Gemm), scaled by beta. The bias may be a
// DequantizeLinear of an int32 constant (used as-is when its scale matches) or float.
func (l *lowerer) biasInt32(name string, n int, accScale []float32, beta float32) ([]int32, error) {
	if name == "" {
		return nil, nil
	}
	if dq := l.dqConst[name]; dq != nil && beta == 1 {
		x := l.constOf(dq.Input(0))
		st := l.constOf(dq.Input(1))
		if x != nil && x.DType == graph.Int32 && x.Len() == n && st != nil {
			sf, _ := st.AsFloat64()
			zt := l.constOf(dq.Input(2))
			zero := zt == nil
			if zt != nil {
				z, _ := zt.AsInt64()
				zero = true
				for _, v := range z {
					zero = zero && v == 0
				}
			}
			match := zero && (len(sf) == 1 || len(sf) == n)
			for c := 0; match && c < n; c++ {
				s := sf[0]
				if len(sf) > 1 {
					s = sf[c]
				}
				match = math.Abs(s-float64(accScale[c])) <= 1e-6*float64(accScale[c])
			}
			if match {
				return append([]int32(nil), x.I32()...), nil
			}
		}
	}
	t := l.constFloat(name)
	if t == nil {
		return nil, notLowered("bias %q is not constant", name)
	}
	f := t.F32()
	if len(f) != n && len(f) != 1 {
		return nil, notLowered("bias %q has %d values for %d channels", name, len(f), n)
	}
	out := make([]int32, n)
	for c := range out {
		v := f[0]
		if len(f) > 1 {
			v = f[c]
		}
		q := math.RoundToEven(float64(beta) * float64(v) / float64(accScale[c]))
		out[c] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, q)))
	}
	return out, nil
}
