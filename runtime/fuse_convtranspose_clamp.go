package runtime

// Relu and Clip after a ConvTranspose (seventeenth session). A decoder's
// upsampling block is ConvTranspose → BatchNormalization → Relu; once the
// optimisation pass folds the BatchNormalization into the ConvTranspose
// (graph/optimize, conv_affine.go) the Relu reads the ConvTranspose directly
// and was a pass of its own over the upsampled map (ENet's 64×64×64: 0.23 ms
// against the 0.19 ms of the channels-last BatchNormalization it had been
// folded into). The block and phase ConvTranspose kernels clamp each GEMM
// tile in cache, as the Conv's epilogue does (fuse.go): the fused result is
// the operators' one by one, bit for bit.

// fuseConvTransposeClamps merges each Relu or Clip with constant bounds (a
// chain of them: composeClamps) into the block (layout_convtranspose.go) or
// phase (convtranspose_phase.go) ConvTranspose it alone reads, when that
// output is not kept, and the clamp's range holds 0 (Relu, ReLU6: the zero
// channels that pad a channels-last pixel stay zero). It runs after the layout pass (which picks those
// kernels) and before Concat views and buffer lifetimes.
func (s *Session) fuseConvTransposeClamps(opset int64) {
	if s.cfg.skipFusions&fuseCTClamp != 0 {
		return
	}
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	for i := range s.steps {
		st := &s.steps[i]
		var ep *ctClamp
		switch k := st.kernel.(type) {
		case *nhwcConvTransposeKernel:
			ep = &k.clamp
		case *phaseConvTranspose:
			ep = &k.clamp
		}
		if ep == nil || removed[i] || len(st.out) != 1 {
			continue
		}
		for {
			out := st.out[0]
			r := readers[out]
			if out < 0 || s.keep[out] || len(r) != 1 || len(s.steps[r[0]].out) != 1 || len(s.steps[r[0]].in) == 0 || s.steps[r[0]].in[0] != out {
				break
			}
			j := r[0]
			lo, hi, _, ok := s.clampOf(s.steps[j], opset)
			if !ok || lo > 0 || hi < 0 {
				break // the clamp must keep the zero lanes of a padded pixel stride zero
			}
			if ep.on {
				if lo, hi, ok = composeClamps(ep.lo, ep.hi, lo, hi); !ok {
					break
				}
			}
			*ep = ctClamp{on: true, lo: lo, hi: hi}
			st.out = []int{s.steps[j].out[0]}
			removed[j] = true
		}
	}
	s.dropSteps(removed)
}

// ctClamp is the clamp a ConvTranspose kernel applies to its outputs (on).
type ctClamp struct {
	on     bool
	lo, hi float32
}

// apply clamps v in place (the rows no tap of a phase reaches: the bias).
func (c ctClamp) apply(v []float32) {
	if !c.on {
		return
	}
	for i, x := range v {
		v[i] = min(max(x, c.lo), c.hi)
	}
}
