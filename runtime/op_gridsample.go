package runtime

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// GridSample on a 4-D input: Y[n, c, oy, ox] samples X[n, c] at grid[n, oy, ox] =
// (x, y), normalized to [-1, 1] over the width and height. The arithmetic follows
// ONNX Runtime's float32 kernel step by step (denormalization, the out-of-range
// coordinate handling of border and reflection padding, then the taps), so results
// agree to rounding: align_corners maps -1 and 1 to the centres of the first and
// last pixels, otherwise to their outer edges; nearest rounds half to even; bicubic
// is Keys' kernel with a = -0.75 over a 4x4 neighbourhood. Border padding clamps an
// outside location to the edge pixels, except for bicubic, where (as in PyTorch and
// ONNX Runtime) the location stays and each of the 16 taps is clamped: clamping the
// location first gives other values (0.2 apart on the test grid). Every output position's
// taps are computed once and applied to all channels.

type gridSampleKernel struct {
	mode    string // bilinear, nearest, bicubic
	padding string // zeros, border, reflection
	align   bool
}

func buildGridSample(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := &gridSampleKernel{
		mode:    n.AttrString("mode", "bilinear"),
		padding: n.AttrString("padding_mode", "zeros"),
		align:   n.AttrInt("align_corners", 0) != 0,
	}
	switch k.mode {
	case "bilinear", "nearest", "bicubic":
	case "linear": // opset 20's names
		k.mode = "bilinear"
	case "cubic":
		k.mode = "bicubic"
	default:
		return nil, fmt.Errorf("%s: %w mode %q", n.Label(), graph.ErrUnsupported, k.mode)
	}
	switch k.padding {
	case "zeros", "border", "reflection":
	default:
		return nil, fmt.Errorf("%s: %w padding_mode %q", n.Label(), graph.ErrUnsupported, k.padding)
	}
	return k, nil
}

func (k *gridSampleKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 2); err != nil {
		return nil, err
	}
	x, grid := in[0], in[1]
	if x.DType != graph.Float32 || grid.DType != graph.Float32 {
		return nil, fmt.Errorf("input and grid must be float32, are %s and %s", x.DType, grid.DType)
	}
	if len(x.Shape) == 5 {
		return k.runVolume(ctx, x, grid)
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("input must be 4-D (N, C, H, W) or 5-D (N, C, D, H, W), has shape %v", x.Shape)
	}
	if len(grid.Shape) != 4 || grid.Shape[3] != 2 || grid.Shape[0] != x.Shape[0] {
		return nil, fmt.Errorf("grid must be [N, H_out, W_out, 2] with N = %d, has shape %v", x.Shape[0], grid.Shape)
	}
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	Ho, Wo := grid.Shape[1], grid.Shape[2]
	out := ctx.AllocF32(N * C * Ho * Wo)
	if H == 0 || W == 0 {
		// Nothing to sample: every tap is outside (zeros) or there is no pixel to clamp to.
		if k.padding != "zeros" && len(out) > 0 {
			return nil, fmt.Errorf("input of shape %v has no pixel to pad from", x.Shape)
		}
		for i := range out {
			out[i] = 0
		}
		return []*graph.Tensor{graph.FromFloat32([]int{N, C, Ho, Wo}, out)}, nil
	}
	xd, gd := x.F32(), grid.F32()
	plane, oplane := H*W, Ho*Wo
	for n := 0; n < N; n++ {
		xn := xd[n*C*plane : (n+1)*C*plane]
		gn := gd[n*oplane*2 : (n+1)*oplane*2]
		yn := out[n*C*oplane : (n+1)*C*oplane]
		parallelFor(ctx.Threads, oplane, func(lo, hi int) {
			var t gsTaps
			for p := lo; p < hi; p++ {
				k.taps(&t, gn[2*p], gn[2*p+1], H, W)
				for c := 0; c < C; c++ {
					yn[c*oplane+p] = t.apply(xn[c*plane : (c+1)*plane])
				}
			}
		})
	}
	return []*graph.Tensor{graph.FromFloat32([]int{N, C, Ho, Wo}, out)}, nil
}

// gsTaps are one output position's taps: a 1x1, 2x2 or 4x4 neighbourhood of pixel
// indices into a plane (-1: a zero outside the input) and the separable weights
// along x and y, combined in ONNX Runtime's order.
type gsTaps struct {
	size   int // 1, 2 or 4
	idx    [16]int
	wx, wy [4]float32
	tx, ty float32 // bicubic: the location's fractions, the weights' argument
}

func (t *gsTaps) pixel(plane []float32, i int) float32 {
	if j := t.idx[i]; j >= 0 {
		return plane[j]
	}
	return 0
}

func (t *gsTaps) apply(plane []float32) float32 {
	switch t.size {
	case 1:
		return t.pixel(plane, 0)
	case 2:
		// dy2 * (dx2 * p11 + dx1 * p12) + dy1 * (dx2 * p21 + dx1 * p22)
		top := t.wx[0]*t.pixel(plane, 0) + t.wx[1]*t.pixel(plane, 1)
		bot := t.wx[0]*t.pixel(plane, 2) + t.wx[1]*t.pixel(plane, 3)
		return t.wy[0]*top + t.wy[1]*bot
	}
	var v [4]float32
	for r := 0; r < 4; r++ {
		v[r] = t.wx[0]*t.pixel(plane, 4*r) + t.wx[1]*t.pixel(plane, 4*r+1) + t.wx[2]*t.pixel(plane, 4*r+2) + t.wx[3]*t.pixel(plane, 4*r+3)
	}
	return t.wy[0]*v[0] + t.wy[1]*v[1] + t.wy[2]*v[2] + t.wy[3]*v[3]
}

// taps fills t for the normalized location (nx, ny) in an H x W plane.
func (k *gridSampleKernel) taps(t *gsTaps, nx, ny float32, H, W int) {
	x, y := gsDenormalize(nx, W, k.align), gsDenormalize(ny, H, k.align)
	// The valid range: pixel centres with align_corners, their outer edges otherwise.
	xmin, xmax, ymin, ymax := float32(-0.5), float32(W)-0.5, float32(-0.5), float32(H)-0.5
	if k.align {
		xmin, xmax, ymin, ymax = 0, float32(W-1), 0, float32(H-1)
	}
	if k.mode == "nearest" {
		x, y = float32(math.RoundToEven(float64(x))), float32(math.RoundToEven(float64(y)))
	}
	if x < xmin || x > xmax || y < ymin || y > ymax {
		switch k.padding {
		case "border":
			if k.mode != "bicubic" {
				x, y = clampF32(x, 0, float32(W-1)), clampF32(y, 0, float32(H-1))
			}
		case "reflection":
			x, y = gsReflect(x, xmin, xmax), gsReflect(y, ymin, ymax)
		}
	}
	at := func(r, c int) int {
		switch k.padding {
		case "zeros":
			if r < 0 || r >= H || c < 0 || c >= W {
				return -1
			}
		case "border":
			r, c = clampInt(r, 0, H-1), clampInt(c, 0, W-1)
		default:
			c = int(gsReflect(float32(c), xmin, xmax))
			r = int(gsReflect(float32(r), ymin, ymax))
			// A reflected tap of a NaN or huge coordinate can still fall outside.
			if r < 0 || r >= H || c < 0 || c >= W {
				return -1
			}
		}
		return r*W + c
	}
	if math.IsNaN(float64(x)) || math.IsNaN(float64(y)) {
		// No position: ONNX Runtime's integer conversion of NaN is undefined; a zero here.
		t.size = 1
		t.idx[0] = -1
		return
	}
	switch k.mode {
	case "nearest":
		t.size = 1
		t.idx[0] = at(int(y), int(x))
	case "bilinear":
		x1, y1 := int(math.Floor(float64(x))), int(math.Floor(float64(y)))
		x2, y2 := x1+1, y1+1
		t.size = 2
		t.idx[0], t.idx[1], t.idx[2], t.idx[3] = at(y1, x1), at(y1, x2), at(y2, x1), at(y2, x2)
		t.wx[0], t.wx[1] = float32(x2)-x, x-float32(x1)
		t.wy[0], t.wy[1] = float32(y2)-y, y-float32(y1)
	default: // bicubic
		x0, y0 := int(math.Floor(float64(x)))-1, int(math.Floor(float64(y)))-1
		t.size = 4
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				t.idx[4*r+c] = at(y0+r, x0+c)
			}
		}
		t.tx, t.ty = x-float32(x0)-1, y-float32(y0)-1
		t.wx = gsCubicCoeffs(t.tx)
		t.wy = gsCubicCoeffs(t.ty)
	}
}

// gsDenormalize maps a normalized coordinate to the pixel grid: [-1, 1] to [0, L-1]
// with align_corners, to [-0.5, L-0.5] without.
func gsDenormalize(v float32, length int, align bool) float32 {
	if align {
		return (v + 1) / 2 * float32(length-1)
	}
	return ((v+1)*float32(length) - 1) / 2
}

// gsReflect reflects v into [lo, hi] (repeatedly, as a mirror pair of walls).
func gsReflect(v, lo, hi float32) float32 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	switch {
	case v < lo:
		d := lo - v
		n := int(d / rng)
		r := d - float32(n)*rng
		if n%2 == 0 {
			return lo + r
		}
		return hi - r
	case v > hi:
		d := v - hi
		n := int(d / rng)
		r := d - float32(n)*rng
		if n%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return v
}

// gsCubicCoeffs are Keys' cubic convolution weights (a = -0.75) of the four taps
// at distances 1+t, t, 1-t, 2-t.
func gsCubicCoeffs(t float32) [4]float32 {
	const a = float32(-0.75)
	if t < 0 {
		t = -t
	}
	return [4]float32{
		((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a,
		((a+2)*t-(a+3))*t*t + 1,
		((a+2)*(1-t)-(a+3))*(1-t)*(1-t) + 1,
		((a*(2-t)-5*a)*(2-t)+8*a)*(2-t) - 4*a,
	}
}

// gsCubicSlopes are the derivatives of gsCubicCoeffs(t) with respect to t, for
// t in [0, 1) (the location's fraction, whose derivative along the location is 1).
func gsCubicSlopes(t float32) [4]float32 {
	const a = float32(-0.75)
	u, v, s := t+1, 1-t, 2-t
	return [4]float32{
		(3*a*u-10*a)*u + 8*a,
		(3*(a+2)*t - 2*(a+3)) * t,
		-(3*(a+2)*v - 2*(a+3)) * v,
		-((3*a*s-10*a)*s + 8*a),
	}
}

func clampF32(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func init() {
	Register(OpInfo{OpType: "GridSample", Build: buildGridSample})
}

// AffineGrid (opset 20, the 2-D form): grid[n, h, w] = theta[n] · (x_w, y_h, 1)
// with x_w, y_h the normalised pixel centres (align_corners 0: (2i + 1) / W - 1)
// or pixel corners (align_corners 1: -1 + 2i / (W - 1)), as F.affine_grid and
// ONNX Runtime compute them; the products in float32 in the order x, y, 1.
func buildAffineGrid(b *BuildContext) (Kernel, error) {
	align := b.Node.AttrInt("align_corners", 0) != 0
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		theta := in[0]
		if theta.DType != graph.Float32 || len(theta.Shape) != 3 || theta.Shape[1] != 2 || theta.Shape[2] != 3 {
			return nil, fmt.Errorf("theta must be float32 [N, 2, 3] (the 2-D form only), is %s %v", theta.DType, theta.Shape)
		}
		size, err := intsInput(in[1], "size")
		if err != nil {
			return nil, err
		}
		if len(size) != 4 {
			return nil, fmt.Errorf("size %v must be [N, C, H, W] (the 2-D form only)", size)
		}
		n, h, w := size[0], size[2], size[3]
		if n != int64(theta.Shape[0]) || h < 1 || w < 1 || h > math.MaxInt32 || w > math.MaxInt32 {
			return nil, fmt.Errorf("size %v does not fit theta %v", size, theta.Shape)
		}
		shape := []int{int(n), int(h), int(w), 2}
		if err := checkSize(shape, "output shape"); err != nil {
			return nil, err
		}
		base := func(i, m int64) float32 {
			if align {
				if m == 1 {
					return 0
				}
				return float32(-1 + 2*float64(i)/float64(m-1))
			}
			return float32((2*float64(i)+1)/float64(m) - 1)
		}
		out, td := make([]float32, graph.NumElements(shape)), theta.F32()
		for b := 0; b < int(n); b++ {
			t := td[b*6 : b*6+6]
			for y := int64(0); y < h; y++ {
				yy := base(y, h)
				for x := int64(0); x < w; x++ {
					xx := base(x, w)
					o := ((int64(b)*h+y)*w + x) * 2
					out[o] = t[0]*xx + t[1]*yy + t[2]
					out[o+1] = t[3]*xx + t[4]*yy + t[5]
				}
			}
		}
		return []*graph.Tensor{{DType: graph.Float32, Shape: shape, Data: out}}, nil
	}), nil
}

func init() {
	Register(OpInfo{OpType: "AffineGrid", Build: buildAffineGrid})
}

// GridTaps are the pixels GridSample reads for one output position of a plane and
// their separable weights (Idx -1: a zero outside the input): Size 1 (nearest),
// 2 (bilinear: rows Idx[0..1] and Idx[2..3] weighted Wy[0], Wy[1], columns Wx[0],
// Wx[1]) or 4 (bicubic, 4x4). Clamped reports that border padding moved the
// location onto the edge (it no longer follows the grid there).
type GridTaps struct {
	Size           int
	Idx            [16]int
	Wx, Wy         [4]float32
	ClampX, ClampY bool
	// DWx, DWy: bicubic only, the derivatives of Wx and Wy with respect to the
	// location (the grid's gradient, as PyTorch's get_cubic_coefficients_grad).
	DWx, DWy [4]float32
	// SlopeX, SlopeY: the derivative of the location the taps sample at with
	// respect to the denormalised grid coordinate: 1, or with reflection padding
	// -1 where an odd number of mirrors turned it back (0 on a plane of one
	// pixel, where the location is fixed).
	SlopeX, SlopeY float32
}

// GridSampleTaps returns the taps the GridSample kernel uses for the normalised
// location (nx, ny) of an H x W plane, mode bilinear, nearest or bicubic (opset
// 20's linear and cubic accepted), padding zeros, border or reflection: training
// (package qat) samples with the executor's own arithmetic.
func GridSampleTaps(mode, padding string, align bool, nx, ny float32, H, W int) GridTaps {
	switch mode {
	case "linear":
		mode = "bilinear"
	case "cubic":
		mode = "bicubic"
	}
	k := gridSampleKernel{mode: mode, padding: padding, align: align}
	var t gsTaps
	k.taps(&t, nx, ny, H, W)
	g := GridTaps{Size: t.size, Idx: t.idx, Wx: t.wx, Wy: t.wy}
	if t.size == 4 {
		g.DWx, g.DWy = gsCubicSlopes(t.tx), gsCubicSlopes(t.ty)
	}
	if padding == "border" && mode != "bicubic" {
		x, y := gsDenormalize(nx, W, align), gsDenormalize(ny, H, align)
		g.ClampX, g.ClampY = x < 0 || x > float32(W-1), y < 0 || y > float32(H-1)
	}
	g.SlopeX, g.SlopeY = 1, 1
	if padding == "reflection" {
		g.SlopeX, g.SlopeY = k.reflectSlope(nx, W), k.reflectSlope(ny, H)
	}
	return g
}

// reflectSlope is d(reflected)/d(location) for normalised coordinate v along an
// axis of n pixels: gsReflect's mirror count, even turning the axis back.
func (k *gridSampleKernel) reflectSlope(v float32, n int) float32 {
	c, lo, hi := k.gsAxis(v, n)
	rng := hi - lo
	switch {
	case rng <= 0:
		return 0
	case c < lo:
		if int((lo-c)/rng)%2 == 0 {
			return -1
		}
	case c > hi:
		if int((c-hi)/rng)%2 == 0 {
			return -1
		}
	}
	return 1
}
