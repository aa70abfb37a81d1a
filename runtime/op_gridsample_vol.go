package runtime

// GridSample on a 5-D input (opset 20): Y[n, c, od, oh, ow] samples the volume
// X[n, c] at grid[n, od, oh, ow] = (x, y, z) normalized to [-1, 1] over W, H and D,
// with the 4-D kernel's denormalization and padding rules per axis (op_gridsample.go)
// and trilinear weights combined as ONNX Runtime does (z outermost, then y, then x).
// Nearest rounds half to even; cubic is refused for 5-D inputs by shape inference.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// gsAxis prepares one axis: the denormalized coordinate after the padding rule
// and its valid range.
func (k *gridSampleKernel) gsAxis(v float32, n int) (float32, float32, float32) {
	c := gsDenormalize(v, n, k.align)
	lo, hi := float32(-0.5), float32(n)-0.5
	if k.align {
		lo, hi = 0, float32(n-1)
	}
	if k.mode == "nearest" {
		c = float32(math.RoundToEven(float64(c)))
	}
	return c, lo, hi
}

func (k *gridSampleKernel) runVolume(ctx *ExecContext, x, grid *graph.Tensor) ([]*graph.Tensor, error) {
	if k.mode == "bicubic" {
		return nil, fmt.Errorf("cubic mode on a 5-D input (ONNX defines it for 4-D inputs only)")
	}
	if len(grid.Shape) != 5 || grid.Shape[4] != 3 || grid.Shape[0] != x.Shape[0] {
		return nil, fmt.Errorf("grid must be [N, D_out, H_out, W_out, 3] with N = %d, has shape %v", x.Shape[0], grid.Shape)
	}
	N, C, D, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[4]
	oshape := []int{N, C, grid.Shape[1], grid.Shape[2], grid.Shape[3]}
	if err := checkSize(oshape, "output shape"); err != nil {
		return nil, err
	}
	ovol := grid.Shape[1] * grid.Shape[2] * grid.Shape[3]
	out := ctx.AllocF32(N * C * ovol)
	if D == 0 || H == 0 || W == 0 {
		if k.padding != "zeros" && len(out) > 0 {
			return nil, fmt.Errorf("input of shape %v has no voxel to pad from", x.Shape)
		}
		for i := range out {
			out[i] = 0
		}
		return []*graph.Tensor{graph.FromFloat32(oshape, out)}, nil
	}
	xd, gd := x.F32(), grid.F32()
	vol := D * H * W
	trilinear := k.mode != "nearest"
	for n := 0; n < N; n++ {
		xn, gn, yn := xd[n*C*vol:(n+1)*C*vol], gd[n*ovol*3:(n+1)*ovol*3], out[n*C*ovol:(n+1)*C*ovol]
		parallelFor(ctx.Threads, ovol, func(lo, hi int) {
			var idx [8]int
			var w [8]float32
			for p := lo; p < hi; p++ {
				if trilinear && k.interiorVoxel(xn, yn, gn[3*p:3*p+3], p, C, D, H, W, ovol) {
					continue
				}
				taps := k.volumeTaps(gn[3*p], gn[3*p+1], gn[3*p+2], D, H, W, &idx, &w)
				for c := 0; c < C; c++ {
					plane := xn[c*vol : (c+1)*vol]
					var v float32
					if taps == 1 {
						if idx[0] >= 0 {
							v = plane[idx[0]]
						}
					} else {
						var s [8]float32
						for i := range s {
							if idx[i] >= 0 {
								s[i] = plane[idx[i]]
							}
						}
						// dz2·(dy2·(dx2·p000 + dx1·p001) + dy1·(dx2·p010 + dx1·p011)) + dz1·(...)
						v = w[4]*(w[2]*(w[0]*s[0]+w[1]*s[1])+w[3]*(w[0]*s[2]+w[1]*s[3])) +
							w[5]*(w[2]*(w[0]*s[4]+w[1]*s[5])+w[3]*(w[0]*s[6]+w[1]*s[7]))
					}
					yn[c*ovol+p] = v
				}
			}
		})
	}
	return []*graph.Tensor{graph.FromFloat32(oshape, out)}, nil
}

// volumeTaps fills the voxel indices (-1: a zero outside) and, for trilinear, the
// weights w[0..1] along x, w[2..3] along y, w[4..5] along z; it returns the number
// of taps (1 or 8).
func (k *gridSampleKernel) volumeTaps(nx, ny, nz float32, D, H, W int, idx *[8]int, w *[8]float32) int {
	x, xmin, xmax := k.gsAxis(nx, W)
	y, ymin, ymax := k.gsAxis(ny, H)
	z, zmin, zmax := k.gsAxis(nz, D)
	if x < xmin || x > xmax || y < ymin || y > ymax || z < zmin || z > zmax {
		switch k.padding {
		case "border":
			x, y, z = clampF32(x, 0, float32(W-1)), clampF32(y, 0, float32(H-1)), clampF32(z, 0, float32(D-1))
		case "reflection":
			x, y, z = gsReflect(x, xmin, xmax), gsReflect(y, ymin, ymax), gsReflect(z, zmin, zmax)
		}
	}
	if math.IsNaN(float64(x)) || math.IsNaN(float64(y)) || math.IsNaN(float64(z)) {
		idx[0] = -1
		return 1
	}
	at := func(d, r, c int) int {
		switch k.padding {
		case "border":
			d, r, c = clampInt(d, 0, D-1), clampInt(r, 0, H-1), clampInt(c, 0, W-1)
		case "reflection":
			c = int(gsReflect(float32(c), xmin, xmax))
			r = int(gsReflect(float32(r), ymin, ymax))
			d = int(gsReflect(float32(d), zmin, zmax))
		}
		if d < 0 || d >= D || r < 0 || r >= H || c < 0 || c >= W {
			return -1
		}
		return (d*H+r)*W + c
	}
	if k.mode == "nearest" {
		idx[0] = at(int(z), int(y), int(x))
		return 1
	}
	x1, y1, z1 := int(math.Floor(float64(x))), int(math.Floor(float64(y))), int(math.Floor(float64(z)))
	for i := 0; i < 8; i++ {
		idx[i] = at(z1+i>>2&1, y1+i>>1&1, x1+i&1)
	}
	w[0], w[1] = float32(x1+1)-x, x-float32(x1)
	w[2], w[3] = float32(y1+1)-y, y-float32(y1)
	w[4], w[5] = float32(z1+1)-z, z-float32(z1)
	return 8
}

// interiorVoxel samples output voxel p trilinearly when the padding rule
// changes nothing there: its 2x2x2 neighbourhood lies wholly inside the volume,
// or partly outside with zeros padding (the taps outside are zeros); it reports
// whether it did, and the others (NaN, reflection and border padding at the
// edges, coordinates far outside) take volumeTaps. It is the same arithmetic as
// the general path (the same denormalization, weights and order of the sums:
// bit for bit), without its per-tap padding switch and closure, which made the
// 5-D GridSample 45 ns per output voxel (voxelmorph_grid5d_op20's 16³ warp
// 0.19 ms against its 2.65 M-MAC flow convolution's 0.25 ms).
func (k *gridSampleKernel) interiorVoxel(xn, yn, g []float32, p, C, D, H, W, ovol int) bool {
	x, y, z := gsDenormalize(g[0], W, k.align), gsDenormalize(g[1], H, k.align), gsDenormalize(g[2], D, k.align)
	hw := H * W
	vol := D * hw
	if x >= 0 && y >= 0 && z >= 0 && x < float32(W-1) && y < float32(H-1) && z < float32(D-1) {
		x1, y1, z1 := int(x), int(y), int(z) // the floors: non-negative
		w0, w1 := float32(x1+1)-x, x-float32(x1)
		w2, w3 := float32(y1+1)-y, y-float32(y1)
		w4, w5 := float32(z1+1)-z, z-float32(z1)
		i0 := (z1*H+y1)*W + x1
		for c := 0; c < C; c++ {
			pl := xn[c*vol+i0 : c*vol+i0+hw+W+2]
			s0, s1, s2, s3 := pl[0], pl[1], pl[W], pl[W+1]
			s4, s5, s6, s7 := pl[hw], pl[hw+1], pl[hw+W], pl[hw+W+1]
			yn[c*ovol+p] = w4*(w2*(w0*s0+w1*s1)+w3*(w0*s2+w1*s3)) +
				w5*(w2*(w0*s4+w1*s5)+w3*(w0*s6+w1*s7))
		}
		return true
	}
	// NaN fails every comparison and takes the general path.
	if k.padding != "zeros" || !(x > -1 && y > -1 && z > -1 && x < float32(W) && y < float32(H) && z < float32(D)) {
		return false
	}
	x1, y1, z1 := int(math.Floor(float64(x))), int(math.Floor(float64(y))), int(math.Floor(float64(z)))
	w0, w1 := float32(x1+1)-x, x-float32(x1)
	w2, w3 := float32(y1+1)-y, y-float32(y1)
	w4, w5 := float32(z1+1)-z, z-float32(z1)
	var idx [8]int
	for i := range idx {
		d, r, c := z1+i>>2&1, y1+i>>1&1, x1+i&1
		idx[i] = -1
		if d >= 0 && d < D && r >= 0 && r < H && c >= 0 && c < W {
			idx[i] = (d*H+r)*W + c
		}
	}
	for c := 0; c < C; c++ {
		pl := xn[c*vol : (c+1)*vol]
		var s [8]float32
		for i, j := range idx {
			if j >= 0 {
				s[i] = pl[j]
			}
		}
		yn[c*ovol+p] = w4*(w2*(w0*s[0]+w1*s[1])+w3*(w0*s[2]+w1*s[3])) +
			w5*(w2*(w0*s[4]+w1*s[5])+w3*(w0*s[6]+w1*s[7]))
	}
	return true
}

// GridTaps3 are the voxels a 5-D GridSample reads for one output position
// (Idx -1: a zero outside the input) and its trilinear weights, W[0..1] along x,
// W[2..3] along y, W[4..5] along z (Size 8; Size 1 for nearest). Idx[i] is the
// voxel at offsets (z, y, x) = (i>>2&1, i>>1&1, i&1) from the lower corner.
// ClampX/Y/Z report that border padding moved the location onto the edge
// along that axis.
type GridTaps3 struct {
	Size                   int
	Idx                    [8]int
	W                      [6]float32
	ClampX, ClampY, ClampZ bool
	SlopeX, SlopeY, SlopeZ float32 // as GridTaps' (reflection padding)
}

// GridSampleVolumeTaps returns the taps the 5-D GridSample kernel uses for the
// normalised location (nx, ny, nz) of a D x H x W volume, mode linear (bilinear
// accepted) or nearest, padding zeros, border or reflection: training (package
// qat) samples volumes with the executor's own arithmetic.
func GridSampleVolumeTaps(mode, padding string, align bool, nx, ny, nz float32, D, H, W int) GridTaps3 {
	if mode == "linear" {
		mode = "bilinear"
	}
	k := gridSampleKernel{mode: mode, padding: padding, align: align}
	var g GridTaps3
	var w [8]float32
	g.Size = k.volumeTaps(nx, ny, nz, D, H, W, &g.Idx, &w)
	copy(g.W[:], w[:6])
	if padding == "border" {
		x, y, z := gsDenormalize(nx, W, align), gsDenormalize(ny, H, align), gsDenormalize(nz, D, align)
		g.ClampX, g.ClampY, g.ClampZ = x < 0 || x > float32(W-1), y < 0 || y > float32(H-1), z < 0 || z > float32(D-1)
	}
	g.SlopeX, g.SlopeY, g.SlopeZ = 1, 1, 1
	if padding == "reflection" {
		g.SlopeX, g.SlopeY, g.SlopeZ = k.reflectSlope(nx, W), k.reflectSlope(ny, H), k.reflectSlope(nz, D)
	}
	return g
}
