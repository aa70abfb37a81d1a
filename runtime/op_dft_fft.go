package runtime

// The fast Fourier transform behind DFT and STFT (twentieth session). Every
// length is O(L log L):
//
//   - a length whose prime factors are all at most fftMaxRadix is a mixed-radix
//     Cooley-Tukey transform (decimation in time, as kissfft orders it): the
//     input is gathered in digit-reversed order once, then one pass per factor,
//     the last factor first; radix 4, 2 and 3 have their own butterflies, the
//     other primes (5, 7, ..., 31) a direct p-point DFT per butterfly;
//   - any other length (a prime factor above fftMaxRadix) is Bluestein's chirp-z
//     transform: the DFT as a convolution with the chirp e^{-iπk²/L}, computed
//     by power-of-two FFTs of length M >= 2L-1;
//   - a real signal of even length is a complex FFT of half the length (even
//     samples as real parts, odd samples as imaginary parts) and one pass that
//     separates the two halves' spectra.
//
// Everything is float64 (complex128), rounded once to float32 at the end, as the
// direct transform it replaces was: the error of an FFT grows as log L times the
// float64 rounding, far below float32's. Twiddles are computed once per plan, each
// angle from an exact integer ratio (q·u mod L)/L. Plans are immutable and shared
// by concurrent runs; work buffers belong to the caller.

import (
	"fmt"
	"math"
	"math/cmplx"
	"sync"
)

// fftMaxRadix is the largest prime factor a mixed-radix plan takes; a length with
// a larger one goes through Bluestein. A p-point butterfly costs p products per
// point, Bluestein about 40-60 per point at these sizes.
const fftMaxRadix = 31

// fftMaxLength bounds a transform length (the plans hold about 3 complex128
// values per point; Bluestein's twice that).
const fftMaxLength = 1 << 22

// fftStage is one pass of a mixed-radix plan: blocks of p·m points, each a
// p-point butterfly per u < m over the values u, u+m, ..., u+(p-1)m, after
// multiplying value q by the twiddle e^{-2πi·q·u/(p·m)}.
type fftStage struct {
	p, m, blocks int
	tw           []complex128 // tw[u*(p-1)+q-1], q = 1..p-1
	roots        []complex128 // e^{-2πi·k/p}, k < p (the generic butterfly)
}

// fftPlan is the forward complex DFT of one length.
type fftPlan struct {
	n      int
	perm   []int32 // mixed radix: dst[o] = src[perm[o]] before the passes
	stages []fftStage
	blue   *bluestein // nil for a mixed-radix plan
}

// bluestein is the chirp-z form of a length n: X[k] = c[k]·Σ_j (x[j]·c[j])·conj(c[k-j]),
// c[k] = e^{-iπk²/n}, the sum a cyclic convolution of length m (a power of two).
type bluestein struct {
	m     int
	sub   *fftPlan     // length m
	chirp []complex128 // c[k], k < n
	kern  []complex128 // FFT_m of conj(c) wrapped around, divided by m
}

// twiddle returns e^{-2πi·a/b} with a reduced modulo b first, so that the angle is
// exact to float64's rounding of 2π·a/b.
func twiddle(a, b int) complex128 {
	s, c := math.Sincos(-2 * math.Pi * float64(a%b) / float64(b))
	return complex(c, s)
}

// fftFactors returns the radices of n (4s first, then 2, then odd primes), or nil
// when n has a prime factor above fftMaxRadix.
func fftFactors(n int) []int {
	f := []int{} // n = 1: no pass
	for n%4 == 0 {
		f = append(f, 4)
		n /= 4
	}
	for p := 2; n > 1 && p <= fftMaxRadix; p++ {
		for n%p == 0 {
			f = append(f, p)
			n /= p
		}
	}
	if n > 1 {
		return nil
	}
	return f
}

// newFFTPlan plans the forward complex DFT of length n >= 1.
func newFFTPlan(n int) (*fftPlan, error) {
	if n < 1 || n > fftMaxLength {
		return nil, fmt.Errorf("a DFT of length %d is out of range (1 to %d)", n, fftMaxLength)
	}
	f := fftFactors(n)
	if f == nil {
		return newBluestein(n)
	}
	p := &fftPlan{n: n, perm: make([]int32, n)}
	// Sub-lengths: m[i] = n / (f[0]·...·f[i]); strides s[i] = f[0]·...·f[i-1].
	ms, ss := make([]int, len(f)), make([]int, len(f))
	m, s := n, 1
	for i, r := range f {
		m /= r
		ms[i], ss[i] = m, s
		s *= r
	}
	// Output position Σ q_i·m_i holds input Σ q_i·s_i (the digit reversal).
	for o := range p.perm {
		rem, in := o, 0
		for i := range f {
			in += rem / ms[i] * ss[i]
			rem %= ms[i]
		}
		p.perm[o] = int32(in)
	}
	for i := len(f) - 1; i >= 0; i-- {
		st := fftStage{p: f[i], m: ms[i], blocks: ss[i]}
		if st.m > 1 {
			st.tw = make([]complex128, st.m*(st.p-1))
			for u := 0; u < st.m; u++ {
				for q := 1; q < st.p; q++ {
					st.tw[u*(st.p-1)+q-1] = twiddle(q*u, st.p*st.m)
				}
			}
		}
		if st.p > 4 {
			st.roots = make([]complex128, st.p)
			for k := range st.roots {
				st.roots[k] = twiddle(k, st.p)
			}
		}
		p.stages = append(p.stages, st)
	}
	return p, nil
}

func newBluestein(n int) (*fftPlan, error) {
	m := 1
	for m < 2*n-1 {
		m <<= 1
	}
	sub, err := newFFTPlan(m)
	if err != nil {
		return nil, err
	}
	b := &bluestein{m: m, sub: sub, chirp: make([]complex128, n)}
	for k := range b.chirp {
		// e^{-iπk²/n} = e^{-2πi·(k² mod 2n)/(2n)}
		b.chirp[k] = twiddle(int(int64(k)*int64(k)%int64(2*n)), 2*n)
	}
	w := make([]complex128, m)
	w[0] = 1
	for k := 1; k < n; k++ {
		w[k] = cmplx.Conj(b.chirp[k])
		w[m-k] = w[k]
	}
	b.kern = make([]complex128, m)
	sub.transform(b.kern, w, make([]complex128, sub.workLen()))
	for i := range b.kern {
		b.kern[i] /= complex(float64(m), 0)
	}
	return &fftPlan{n: n, blue: b}, nil
}

// workLen is the length of the work buffer transform needs.
func (p *fftPlan) workLen() int {
	if p.blue != nil {
		return 2*p.blue.m + p.blue.sub.workLen()
	}
	w := 0
	for _, st := range p.stages {
		if st.p > 4 {
			w = max(w, st.p)
		}
	}
	return w
}

// transform writes the DFT of src (n values) to dst (n values, not src).
func (p *fftPlan) transform(dst, src, work []complex128) {
	if b := p.blue; b != nil {
		b.transform(dst[:p.n], src[:p.n], work)
		return
	}
	dst = dst[:p.n]
	for o, i := range p.perm {
		dst[o] = src[i]
	}
	for i := range p.stages {
		st := &p.stages[i]
		span := st.p * st.m
		for blk := 0; blk < st.blocks; blk++ {
			d := dst[blk*span : (blk+1)*span]
			switch st.p {
			case 2:
				butterfly2(d, st.m, st.tw)
			case 3:
				butterfly3(d, st.m, st.tw)
			case 4:
				butterfly4(d, st.m, st.tw)
			default:
				butterflyP(d, st.p, st.m, st.tw, st.roots, work[:st.p])
			}
		}
	}
}

func (b *bluestein) transform(dst, src, work []complex128) {
	a, fa := work[:b.m], work[b.m:2*b.m]
	for k, c := range b.chirp {
		a[k] = src[k] * c
	}
	clear(a[len(b.chirp):])
	rest := work[2*b.m:]
	b.sub.transform(fa, a, rest)
	// The inverse transform of fa·kern as conj(FFT(conj(·))): kern holds the 1/m.
	for i, k := range b.kern {
		fa[i] = cmplx.Conj(fa[i] * k)
	}
	b.sub.transform(a, fa, rest)
	for k, c := range b.chirp {
		dst[k] = cmplx.Conj(a[k]) * c
	}
}

func butterfly2(d []complex128, m int, tw []complex128) {
	for u := 0; u < m; u++ {
		a0, a1 := d[u], d[u+m]
		if u > 0 {
			a1 *= tw[u]
		}
		d[u], d[u+m] = a0+a1, a0-a1
	}
}

// sin(2π/3)
const sin60 = 0.86602540378443864676372317075293618347140262690519

func butterfly3(d []complex128, m int, tw []complex128) {
	for u := 0; u < m; u++ {
		a0, a1, a2 := d[u], d[u+m], d[u+2*m]
		if u > 0 {
			a1 *= tw[2*u]
			a2 *= tw[2*u+1]
		}
		s, t := a1+a2, a1-a2
		h := a0 - s*0.5
		// -i·sin60·t
		r := complex(sin60*imag(t), -sin60*real(t))
		d[u], d[u+m], d[u+2*m] = a0+s, h+r, h-r
	}
}

func butterfly4(d []complex128, m int, tw []complex128) {
	for u := 0; u < m; u++ {
		a0, a1, a2, a3 := d[u], d[u+m], d[u+2*m], d[u+3*m]
		if u > 0 {
			a1 *= tw[3*u]
			a2 *= tw[3*u+1]
			a3 *= tw[3*u+2]
		}
		t0, t1, t2, t3 := a0+a2, a0-a2, a1+a3, a1-a3
		// -i·t3
		r := complex(imag(t3), -real(t3))
		d[u], d[u+m], d[u+2*m], d[u+3*m] = t0+t2, t1+r, t0-t2, t1-r
	}
}

// butterflyP is a p-point DFT per u (p an odd prime above 3): O(p²) per group.
func butterflyP(d []complex128, p, m int, tw, roots, tmp []complex128) {
	for u := 0; u < m; u++ {
		tmp[0] = d[u]
		for q := 1; q < p; q++ {
			v := d[u+q*m]
			if u > 0 {
				v *= tw[u*(p-1)+q-1]
			}
			tmp[q] = v
		}
		for k := 0; k < p; k++ {
			s, r := tmp[0], 0
			for q := 1; q < p; q++ {
				r += k
				if r >= p {
					r -= p
				}
				s += tmp[q] * roots[r]
			}
			d[u+k*m] = s
		}
	}
}

// dftPlan is the transform of one length L for complex and real signals: cplx the
// complex plan (nil until a complex signal needs it), half the plan of L/2 and
// w[k] = e^{-2πik/L} (k <= L/2) for a real signal of even length.
type dftPlan struct {
	n    int
	cplx *fftPlan
	half *fftPlan
	w    []complex128
}

func newDFTPlan(n int, isReal bool) (*dftPlan, error) {
	if n < 1 || n > fftMaxLength {
		return nil, fmt.Errorf("a DFT of length %d is out of range (1 to %d)", n, fftMaxLength)
	}
	d := &dftPlan{n: n}
	var err error
	if isReal && n%2 == 0 {
		if d.half, err = newFFTPlan(n / 2); err != nil {
			return nil, err
		}
		d.w = make([]complex128, n/2+1)
		for k := range d.w {
			d.w[k] = twiddle(k, n)
		}
		return d, nil
	}
	if d.cplx, err = newFFTPlan(n); err != nil {
		return nil, err
	}
	return d, nil
}

// dftWork holds one goroutine's buffers for a dftPlan.
type dftWork struct {
	in, out, work []complex128
	real          []float64
}

func (d *dftPlan) newWork() *dftWork {
	w := &dftWork{in: make([]complex128, d.n), out: make([]complex128, d.n), real: make([]float64, d.n)}
	if d.half != nil {
		w.work = make([]complex128, d.half.workLen())
	} else {
		w.work = make([]complex128, d.cplx.workLen())
	}
	return w
}

// realForward writes the first n/2+1 bins of the DFT of the real signal w.real
// (n values) to w.out.
func (d *dftPlan) realForward(w *dftWork) {
	if d.half == nil {
		for i, v := range w.real {
			w.in[i] = complex(v, 0)
		}
		d.cplx.transform(w.out, w.in, w.work)
		return
	}
	h := d.n / 2
	for j := 0; j < h; j++ {
		w.in[j] = complex(w.real[2*j], w.real[2*j+1])
	}
	z := w.in[h : 2*h] // the spectrum of the packed signal, then unpacked into out
	d.half.transform(z, w.in[:h], w.work)
	for k := 0; k <= h/2; k++ {
		// The even and odd samples' spectra E[k] = (Z[k] + conj(Z[h-k]))/2 and
		// O[k] = (Z[k] - conj(Z[h-k]))/(2i); X[k] = E[k] + w^k·O[k].
		a, b := z[k%h], cmplx.Conj(z[(h-k)%h])
		e, o := (a+b)*0.5, (a-b)*complex(0, -0.5)
		t := d.w[k] * o
		w.out[k] = e + t
		// bin h-k: E[h-k] = conj(E[k]), O[h-k] = conj(O[k]), w^{h-k} = -conj(w^k)
		w.out[h-k] = cmplx.Conj(e - t)
	}
}

// dftPlans is a kernel's plans by length: built at build time when the length is
// known, else at the first run of a length; safe for concurrent runs.
type dftPlans struct {
	mu    sync.Mutex
	plans map[[2]int]*dftPlan // [length, real]
}

func (c *dftPlans) get(n int, isReal bool) (*dftPlan, error) {
	key := [2]int{n, 0}
	if isReal {
		key[1] = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.plans[key]; p != nil {
		return p, nil
	}
	p, err := newDFTPlan(n, isReal)
	if err != nil {
		return nil, err
	}
	if c.plans == nil || len(c.plans) >= 16 {
		c.plans = map[[2]int]*dftPlan{} // a model of many lengths plans again rather than grow
	}
	c.plans[key] = p
	return p, nil
}
