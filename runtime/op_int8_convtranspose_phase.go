package runtime

// The int8 ConvTranspose as one packed QConv per output phase (thirteenth
// session; the float32 form and the derivation are in convtranspose_phase.go).
// Along one axis, the outputs o with (o + p) mod s = r receive the taps k
// with k·d ≡ r (mod s): k_j = k_0 + j·(s/gcd(s, d)), each from input
// Q − a_j, Q = ⌊(o + p)/s⌋, a_j = (k_j·d − r)/s = a_0 + j·dd with dd =
// d/gcd(s, d). Reversing the taps (t = J−1−j) makes that a stride-1
// convolution of dilation dd whose output u reads input u − pt + t·dd: with
// u = Q − Q', pt = a_0 + (J−1)·dd − Q'. Q' is the phase's first Q, or less
// when that would make pt negative (the extra outputs are computed and not
// used). Each phase's weights are packed once for kernels.QConv (AVX-512
// VNNI / AMX, depthwise included); its output is copied to the phase's
// output pixels. The integer sum of every output is the same as the scalar
// loop's (the same products, exact int32 arithmetic), so the results are
// bit-identical.
//
// The scalar loop (op_int8_conv.go) took 1.0-2.0 ms per ConvTranspose on
// the decoders of out/bench-models-unseen6 (int8 ran slower than float32).

import (
	"fmt"

	"github.com/warboy-sim/warboy/kernels"
)

// qctAxis is one phase residue along one axis: its taps (ascending k) and
// the lag of the last one.
type qctAxis struct {
	r     int
	taps  []int
	dd    int // sub-convolution dilation
	reach int // a_0 + (J−1)·dd: the largest lag
}

// qctPhase is one phase (both axes): its packed convolution, or the
// constant output row when no tap reaches it.
type qctPhase struct {
	y, x  qctAxis
	core  *convCore
	konst []int8
}

// phaseQConvTranspose is a QConvTranspose on its phases.
type phaseQConvTranspose struct {
	phases []qctPhase
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// qctAxes lists the residues of one axis of kernel size k, stride s and
// dilation d.
func qctAxes(k, s, d int) []qctAxis {
	axes := make([]qctAxis, s)
	for r := range axes {
		a := qctAxis{r: r, dd: d / gcd(s, d)}
		for kk := 0; kk < k; kk++ {
			if (kk*d)%s == r {
				a.taps = append(a.taps, kk)
			}
		}
		if len(a.taps) > 0 {
			a.reach = (a.taps[len(a.taps)-1]*d - r) / s
		}
		axes[r] = a
	}
	return axes
}

// newPhaseQConvTranspose packs every phase of a ConvTranspose of geometry
// g and weights w [C, OC/groups, kh, kw] (int8, zero points wzp).
func newPhaseQConvTranspose(g *convGeom, w []int8, wzp, bias []int32, xZP int32, rq *kernels.Requant) (*phaseQConvTranspose, error) {
	ocg := g.oc / g.groups
	k := &phaseQConvTranspose{}
	for _, ay := range qctAxes(g.kh, g.sh, g.dh) {
		for _, ax := range qctAxes(g.kw, g.sw, g.dw) {
			ph := qctPhase{y: ay, x: ax}
			jy, jx := len(ay.taps), len(ax.taps)
			if jy == 0 || jx == 0 {
				acc := make([]int32, g.oc)
				if bias != nil {
					copy(acc, bias)
				}
				ph.konst = make([]int8, g.oc)
				requantRow(rq, acc, ph.konst, 0)
				k.phases = append(k.phases, ph)
				continue
			}
			// OIHW weights of the sub-convolution, taps reversed.
			sub := make([]int8, g.oc*g.cg*jy*jx)
			for o := 0; o < g.oc; o++ {
				gi, oj := o/ocg, o%ocg
				for cj := 0; cj < g.cg; cj++ {
					ci := gi*g.cg + cj
					for ty := 0; ty < jy; ty++ {
						ky := ay.taps[jy-1-ty]
						for tx := 0; tx < jx; tx++ {
							kx := ax.taps[jx-1-tx]
							sub[((o*g.cg+cj)*jy+ty)*jx+tx] = w[((ci*ocg+oj)*g.kh+ky)*g.kw+kx]
						}
					}
				}
			}
			sg := &convGeom{oc: g.oc, cg: g.cg, kh: jy, kw: jx, groups: g.groups, sh: 1, sw: 1, dh: ay.dd, dw: ax.dd, oneD: g.oneD}
			core, err := newConvCore(sg, sub, wzp, bias, &xZP, rq)
			if err != nil {
				return nil, fmt.Errorf("ConvTranspose phase (%d, %d): %w", ay.r, ax.r, err)
			}
			ph.core = core
			k.phases = append(k.phases, ph)
		}
	}
	return k, nil
}

// qctSpan is where one axis of a phase lands: outputs o0, o0+s, ... (n of
// them) are sub-convolution outputs skip, skip+1, ..., computed with the
// pads pt, pb.
type qctSpan struct {
	o0, n, skip, pt, pb int
}

// span places residue a of an axis of input size in, output size out,
// stride s and begin pad p.
func (a *qctAxis) span(in, out, s, p int) qctSpan {
	o0 := ((a.r-p)%s + s) % s
	if o0 >= out {
		return qctSpan{}
	}
	sp := qctSpan{o0: o0, n: (out-1-o0)/s + 1}
	if len(a.taps) == 0 {
		return sp
	}
	q0 := (o0 + p) / s
	q1 := min(q0, a.reach)
	sp.pt, sp.skip = a.reach-q1, q0-q1
	span := (len(a.taps) - 1) * a.dd
	sp.pb = max(0, sp.skip+sp.n-in-sp.pt+span)
	return sp
}

// run computes the ConvTranspose of x (n images of h×w, channels-last) into
// out [n, oh, ow, OC].
func (k *phaseQConvTranspose) run(ctx *ExecContext, g *convGeom, x []int8, shape []int, xZP int32, n, h, w, oh, ow int, out []int8) error {
	oc := g.oc
	for i := range k.phases {
		ph := &k.phases[i]
		sy := ph.y.span(h, oh, g.sh, g.pt)
		sx := ph.x.span(w, ow, g.sw, g.pl)
		if sy.n == 0 || sx.n == 0 {
			continue
		}
		if ph.core == nil {
			for img := 0; img < n; img++ {
				for qy := 0; qy < sy.n; qy++ {
					row := out[((img*oh+sy.o0+qy*g.sh)*ow)*oc:]
					for qx := 0; qx < sx.n; qx++ {
						copy(row[(sx.o0+qx*g.sw)*oc:][:oc], ph.konst)
					}
				}
			}
			continue
		}
		sg := *ph.core.geom
		sg.pt, sg.pb, sg.pl, sg.pr = sy.pt, sy.pb, sx.pt, sx.pb
		cc := *ph.core
		cc.geom = &sg
		y, _, yshape, err := cc.run(ctx, x, shape, xZP)
		if err != nil {
			return fmt.Errorf("ConvTranspose phase (%d, %d): %w", ph.y.r, ph.x.r, err)
		}
		uh, uw := 1, yshape[1]
		if len(yshape) == 4 {
			uh, uw = yshape[1], yshape[2]
		}
		if sy.skip+sy.n > uh || sx.skip+sx.n > uw {
			return fmt.Errorf("ConvTranspose phase (%d, %d): %dx%d outputs, want %dx%d", ph.y.r, ph.x.r, uh, uw, sy.skip+sy.n, sx.skip+sx.n)
		}
		for img := 0; img < n; img++ {
			for qy := 0; qy < sy.n; qy++ {
				src := y[((img*uh+sy.skip+qy)*uw+sx.skip)*oc:]
				row := out[((img*oh+sy.o0+qy*g.sh)*ow)*oc:]
				for qx := 0; qx < sx.n; qx++ {
					copy(row[(sx.o0+qx*g.sw)*oc:][:oc], src[qx*oc:])
				}
			}
		}
	}
	return nil
}
