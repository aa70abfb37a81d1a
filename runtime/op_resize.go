package runtime

// Resize (opsets 10, 11 and 13) and Upsample (opsets 7 and 9). Interpolation is
// separable, so an N-d resize is a sequence of 1-d resizes, one per axis whose size or
// coordinate mapping changes: each output row along the axis is a weighted sum of 1
// (nearest), 2 (linear) or 4 (cubic) input rows. Coordinates follow the ONNX reference
// implementation, including its use of scale * input_size (not the rounded output size)
// for align_corners, pytorch_half_pixel and tf_crop_and_resize.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

type resizeKernel struct {
	op             string
	legacy         bool // Upsample or Resize-10: asymmetric coordinates, simple nearest
	attrScales     []float32
	mode           string // nearest, linear, cubic
	ctm            string
	nearest        string
	cubicA         float64
	excludeOutside bool
	extrapolation  float64
	// Resize-18 (graph/resize_axes.go, resize_antialias.go): the axes the scales or
	// sizes are for (nil: all), the aspect-ratio policy, and antialias (a filter
	// widened by 1/scale when linear or cubic interpolation downscales).
	axes      []int64
	policy    string
	antialias bool
	cache     *resizePlans // resize_bilinear.go; nil: no caching
}

func buildResize(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &resizeKernel{op: n.OpType, legacy: n.OpType == "Upsample" || b.Opset < 11, cache: &resizePlans{}}
	k.mode = n.AttrString("mode", "nearest")
	switch k.mode {
	case "nearest", "linear", "cubic":
	case "bilinear": // Upsample-7 spelling
		k.mode = "linear"
	default:
		return nil, fmt.Errorf("%s: %w mode %q", n.Label(), graph.ErrUnsupported, k.mode)
	}
	if k.legacy {
		if k.mode == "cubic" {
			return nil, fmt.Errorf("%s: %w mode cubic before opset 11", n.Label(), graph.ErrUnsupported)
		}
		k.ctm = "asymmetric"
		k.nearest = "simple"
		if n.OpType == "Upsample" && b.Opset < 9 {
			k.attrScales = n.AttrFloats("scales", nil)
			if k.attrScales == nil {
				return nil, b.Errorf("missing required attribute scales")
			}
		}
		return k, nil
	}
	k.ctm = n.AttrString("coordinate_transformation_mode", "half_pixel")
	switch k.ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize":
	default:
		return nil, fmt.Errorf("%s: %w coordinate_transformation_mode %q", n.Label(), graph.ErrUnsupported, k.ctm)
	}
	k.nearest = n.AttrString("nearest_mode", "round_prefer_floor")
	switch k.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("%s: %w nearest_mode %q", n.Label(), graph.ErrUnsupported, k.nearest)
	}
	k.axes = n.AttrInts("axes", nil)
	k.policy = n.AttrString("keep_aspect_ratio_policy", "stretch")
	k.antialias = n.AttrInt("antialias", 0) != 0
	if k.antialias && k.mode == "nearest" {
		return nil, fmt.Errorf("%s: %w antialias with mode nearest", n.Label(), graph.ErrUnsupported)
	}
	if k.antialias && k.ctm == "tf_crop_and_resize" {
		return nil, fmt.Errorf("%s: %w antialias with tf_crop_and_resize", n.Label(), graph.ErrUnsupported)
	}
	k.cubicA = float64(n.AttrFloat("cubic_coeff_a", -0.75))
	k.excludeOutside = n.AttrInt("exclude_outside", 0) != 0
	k.extrapolation = float64(n.AttrFloat("extrapolation_value", 0))
	return k, nil
}

// resizePresent reports whether an optional input carries data (ONNX marks absent inputs
// with an empty name or, commonly, an empty tensor).
func resizePresent(t *graph.Tensor) bool { return t != nil && t.Len() > 0 }

func (k *resizeKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) && k.mode != "nearest" {
		return nnHalfWrap(ctx, k, in)
	}
	if x.DType == graph.Int8 && (k.mode != "nearest" || k.ctm == "tf_crop_and_resize") { // extrapolation writes a value
		return resizeInt8Wrap(ctx, k, in)
	}
	outShape, scales, roi, err := k.geometry(x.Shape, in)
	if err != nil {
		return nil, err
	}
	if x.DType == graph.Float32 && roi == nil {
		if p := k.plan2D(x.Shape, outShape, scales); p != nil {
			// NCHW (or any layout with the resized axes last but one and last):
			// the separable two-axis plan (resize_bilinear.go).
			y := ctx.AllocF32(graph.NumElements(outShape))
			p.runF32(x.F32(), y, 0, ctx.Threads)
			return []*graph.Tensor{{DType: graph.Float32, Shape: outShape, Data: y}}, nil
		}
		if out := k.run3D(ctx, x, outShape, scales, roi); out != nil {
			return out, nil // three adjacent axes (resize_3d.go)
		}
	}
	return k.perAxis(ctx, x, outShape, scales, roi)
}

// perAxis is the general resize: one 1-d resampling pass per axis that
// changes, in float64 (resize_rows.go).
func (k *resizeKernel) perAxis(ctx *ExecContext, x *graph.Tensor, outShape []int, scales, roi []float64) ([]*graph.Tensor, error) {
	r := len(x.Shape)
	cur := x
	for a := 0; a < r; a++ {
		var ra []float64
		if roi != nil {
			ra = []float64{roi[a], roi[r+a]}
		}
		m := k.cachedAxisMap(x.Shape[a], outShape[a], scales[a], ra)
		if m.identity() {
			continue
		}
		next, err := m.apply(cur, a, k.extrapolation, ctx.Threads)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if cur == x {
		cur = x.Clone()
	}
	return []*graph.Tensor{cur}, nil
}

// geometry returns the output shape, the per-axis scales and the roi (nil
// unless tf_crop_and_resize) of resizing a tensor of shape xs with the
// node's inputs in (in[0], the data, is not read).
func (k *resizeKernel) geometry(xs []int, in []*graph.Tensor) (outShape []int, scales, roi []float64, err error) {
	x := &graph.Tensor{Shape: xs}
	r := len(x.Shape)
	var sizes []int64
	switch {
	case k.attrScales != nil:
		for _, s := range k.attrScales {
			scales = append(scales, float64(s))
		}
	case k.legacy:
		s := optInput(in, 1)
		if s == nil {
			return nil, nil, nil, fmt.Errorf("missing input 1 (scales)")
		}
		f, err := s.AsFloat64()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("scales: %v", err)
		}
		scales = f
	default:
		st, zt := optInput(in, 2), optInput(in, 3)
		switch {
		case resizePresent(st) && resizePresent(zt):
			return nil, nil, nil, fmt.Errorf("both scales and sizes are given; exactly one is allowed")
		case resizePresent(zt):
			v, err := intsInput(zt, "sizes")
			if err != nil {
				return nil, nil, nil, err
			}
			sizes = v
		case resizePresent(st):
			f, err := st.AsFloat64()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("scales: %v", err)
			}
			scales = f
		default:
			return nil, nil, nil, fmt.Errorf("neither scales nor sizes is given")
		}
		if k.axes != nil || k.policy != "stretch" {
			// Resize-18's axes and aspect-ratio policy: one value per axis, and with a
			// kept aspect ratio one scale for the coordinates of the resized axes.
			fs, fz, err := graph.ResizeAxesFull(xs, scales, sizes, k.axes, k.policy)
			if err != nil {
				return nil, nil, nil, err
			}
			scales, sizes = fs, fz
		}
		if k.ctm == "tf_crop_and_resize" {
			rt := optInput(in, 1)
			if !resizePresent(rt) {
				return nil, nil, nil, fmt.Errorf("tf_crop_and_resize needs the roi input")
			}
			f, err := rt.AsFloat64()
			if err != nil {
				return nil, nil, nil, fmt.Errorf("roi: %v", err)
			}
			if f, err = resizeRoiFull(f, k.axes, r); err != nil {
				return nil, nil, nil, err
			}
			roi = f
		}
	}
	outShape = make([]int, r)
	if sizes != nil {
		if len(sizes) != r {
			return nil, nil, nil, fmt.Errorf("sizes %v has %d values, input has rank %d", sizes, len(sizes), r)
		}
		keep := scales != nil // the aspect-ratio policy's coordinate scales
		if !keep {
			scales = make([]float64, r)
		}
		for a, s := range sizes {
			if s < 0 || s > math.MaxInt32 {
				return nil, nil, nil, fmt.Errorf("sizes %v: size %d is out of range", sizes, s)
			}
			outShape[a] = int(s)
			if x.Shape[a] > 0 && !keep {
				scales[a] = float64(s) / float64(x.Shape[a])
			}
		}
	} else {
		if len(scales) != r {
			return nil, nil, nil, fmt.Errorf("scales %v has %d values, input has rank %d", scales, len(scales), r)
		}
		for a, s := range scales {
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, nil, nil, fmt.Errorf("scales %v: scale %v must be positive", scales, s)
			}
			// The product in float32 as graph.ResizeOutputShape (and ONNX
			// Runtime) computes it: float64 floors 100 * float32(0.64) to 63.
			v := float64(float32(x.Shape[a]) * float32(s))
			if roi != nil {
				v *= roi[r+a] - roi[a]
			}
			v = math.Floor(v)
			if v < 0 || v > math.MaxInt32 {
				return nil, nil, nil, fmt.Errorf("scales %v give axis %d the size %.0f", scales, a, v)
			}
			outShape[a] = int(v)
		}
	}
	if k.op == "Upsample" {
		for _, s := range scales {
			if s < 1 {
				return nil, nil, nil, fmt.Errorf("scales %v: Upsample scales must be at least 1", scales)
			}
		}
	}
	if err := checkSize(outShape, "output shape"); err != nil {
		return nil, nil, nil, err
	}
	for a := 0; a < r; a++ {
		if x.Shape[a] == 0 && outShape[a] > 0 {
			return nil, nil, nil, fmt.Errorf("cannot resize the empty axis %d of %v to %d", a, x.Shape, outShape[a])
		}
	}
	return outShape, scales, roi, nil
}

// resizeRoiFull expands a tf_crop_and_resize roi given for the axes listed (nil:
// every axis; starts then ends) to every axis of a rank-r input, the others whole.
func resizeRoiFull(roi []float64, axes []int64, r int) ([]float64, error) {
	if axes == nil {
		if len(roi) != 2*r {
			return nil, fmt.Errorf("roi has %d values, expected %d for rank %d", len(roi), 2*r, r)
		}
		return roi, nil
	}
	if len(roi) != 2*len(axes) {
		return nil, fmt.Errorf("roi has %d values, expected %d for axes %v", len(roi), 2*len(axes), axes)
	}
	full := make([]float64, 2*r)
	for a := 0; a < r; a++ {
		full[r+a] = 1
	}
	for i, a := range axes {
		na, err := graph.NormalizeAxis(a, r)
		if err != nil {
			return nil, fmt.Errorf("axes %v: %v", axes, err)
		}
		full[na], full[r+na] = roi[i], roi[len(axes)+i]
	}
	return full, nil
}

// axisMap is the 1-d resampling of one axis: output o reads input rows
// idx[o*taps : (o+1)*taps] with weights w (no weights for nearest), or the
// extrapolation value when extra[o].
type axisMap struct {
	in, out, taps int
	idx           []int
	w             []float64
	extra         []bool
}

func (m *axisMap) identity() bool {
	if m.in != m.out {
		return false
	}
	for o := 0; o < m.out; o++ {
		if m.extra != nil && m.extra[o] {
			return false
		}
		hit := false
		for t := 0; t < m.taps; t++ {
			j := o*m.taps + t
			wt := 1.0
			if m.w != nil {
				wt = m.w[j]
			}
			switch {
			case wt == 0:
			case wt == 1 && m.idx[j] == o && !hit:
				hit = true
			default:
				return false
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// original maps output coordinate o of an axis to the input coordinate. The
// arithmetic is float32, as in ONNX Runtime: where a coordinate lands exactly between
// two pixels in float32 but not in float64 (say 1 / 0.4f), nearest rounding follows
// the runtime that deployed models are validated with.
func (k *resizeKernel) original(o int, in, out int, scale64 float64, roi []float64) (x float64, outside bool) {
	fo, scale, fin := float32(o), float32(scale64), float32(in)
	outW := scale * fin
	var v float32
	switch k.ctm {
	case "half_pixel":
		v = (fo+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if outW > 1 {
			v = (fo+0.5)/scale - 0.5
		}
	case "align_corners":
		if outW != 1 {
			v = fo * (fin - 1) / (outW - 1)
		}
	case "tf_half_pixel_for_nn":
		v = (fo + 0.5) / scale
	case "tf_crop_and_resize":
		r0, r1 := float32(roi[0]), float32(roi[1])
		if outW > 1 {
			v = r0*(fin-1) + fo*(r1-r0)*(fin-1)/(outW-1)
		} else {
			v = 0.5 * (r0 + r1) * (fin - 1)
		}
		return float64(v), v < 0 || v > fin-1
	default: // asymmetric
		v = fo / scale
	}
	return float64(v), false
}

func (k *resizeKernel) nearestIndex(x, scale float64) int {
	switch k.nearest {
	case "simple": // ONNX Runtime's rule for Upsample and Resize-10
		if scale < 1 {
			return int(math.Ceil(x))
		}
		return int(x)
	case "floor":
		return int(math.Floor(x))
	case "ceil":
		return int(math.Ceil(x))
	case "round_prefer_ceil":
		if x == math.Floor(x)+0.5 {
			return int(math.Ceil(x))
		}
		return int(math.Round(x))
	}
	if x == math.Floor(x)+0.5 { // round_prefer_floor
		return int(math.Floor(x))
	}
	return int(math.Round(x))
}

func cubicCoeffs(t, a float64) [4]float64 {
	s := 1 - t
	return [4]float64{
		((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a,
		((a+2)*t-(a+3))*t*t + 1,
		((a+2)*s-(a+3))*s*s + 1,
		((a*(s+1)-5*a)*(s+1)+8*a)*(s+1) - 4*a,
	}
}

func (k *resizeKernel) axisMap(in, out int, scale float64, roi []float64) *axisMap {
	if k.antialias && k.mode != "nearest" && scale < 1 && roi == nil {
		return k.antialiasMap(in, out, scale)
	}
	m := &axisMap{in: in, out: out}
	switch k.mode {
	case "nearest":
		m.taps = 1
	case "linear":
		m.taps = 2
	default:
		m.taps = 4
	}
	m.idx = make([]int, out*m.taps)
	if m.taps > 1 {
		m.w = make([]float64, out*m.taps)
	}
	if roi != nil {
		m.extra = make([]bool, out)
	}
	clamp := func(i int) int { return min(max(i, 0), in-1) }
	for o := 0; o < out; o++ {
		x, outside := k.original(o, in, out, scale, roi)
		if outside {
			m.extra[o] = true
			continue
		}
		if m.taps == 1 {
			m.idx[o] = clamp(k.nearestIndex(x, scale))
			if scale == 1 && in == out && roi == nil {
				// An axis nearest mode does not resize is copied, whatever the coordinate
				// mapping says: ONNX Runtime's rule. tf_half_pixel_for_nn maps o to o + 0.5,
				// which round_prefer_ceil and ceil would take to o + 1 (a shift of the
				// channel axis of an NHWC Resize with scales [1, 2, 2, 1], as tf2onnx
				// writes one).
				m.idx[o] = o
			}
			continue
		}
		// The left neighbour is the last input position strictly below x (x itself
		// when x is an integer is taken by the right neighbour with weight 1).
		left := int(math.Ceil(x)) - 1
		t := x - float64(left)
		if m.taps == 2 {
			m.idx[2*o], m.idx[2*o+1] = clamp(left), clamp(left+1)
			m.w[2*o], m.w[2*o+1] = 1-t, t
			continue
		}
		c := cubicCoeffs(t, k.cubicA)
		sum := 0.0
		for j := 0; j < 4; j++ {
			p := left - 1 + j
			if k.excludeOutside && (p < 0 || p >= in) {
				c[j] = 0
			}
			sum += c[j]
			m.idx[4*o+j] = clamp(p)
		}
		for j := 0; j < 4; j++ {
			if k.excludeOutside && sum != 0 {
				c[j] /= sum
			}
			m.w[4*o+j] = c[j]
		}
	}
	return m
}

// apply resamples axis a of t.
func (m *axisMap) apply(t *graph.Tensor, a int, extrapolation float64, threads int) (*graph.Tensor, error) {
	shape := append([]int(nil), t.Shape...)
	outer := graph.NumElements(shape[:a])
	inner := graph.NumElements(shape[a+1:])
	shape[a] = m.out
	if m.w == nil && m.extra == nil {
		src, err := bufferOf(t)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(shape))
		for o := 0; o < outer; o++ {
			for j := 0; j < m.out; j++ {
				dst.Copy((o*m.out+j)*inner, src, (o*m.in+m.idx[j])*inner, inner)
			}
		}
		return &graph.Tensor{DType: t.DType, Shape: shape, Data: dst.Data()}, nil
	}
	out := graph.NewTensor(t.DType, shape)
	switch d := t.Data.(type) {
	case []float32:
		resampleAxis(m, d, out.F32(), outer, inner, extrapolation, threads)
	case []float64:
		resampleAxis(m, d, out.Data.([]float64), outer, inner, extrapolation, threads)
	default:
		return nil, fmt.Errorf("unsupported input type %s for interpolation", t.DType)
	}
	return out, nil
}

func init() {
	Register(OpInfo{OpType: "Resize", Build: buildResize})
	Register(OpInfo{OpType: "Upsample", Build: buildResize})
}
