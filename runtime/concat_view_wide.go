package runtime

// Concat views over larger buffers when every input is wide. concatViewBytes
// keeps a Concat's shared buffer within 512 KB per image because DenseNet's
// 3x3 convolutions, writing 32 channels (128 bytes) a pixel into a buffer a
// pixel stride of several hundred channels wide, ran 5-12 % slower over
// buffers of 1.7-3.2 MB than the copy saved. SqueezeNet's fire modules
// concatenate two convolutions of 64, 128 or 192 channels (256-768 bytes, four
// or more whole cache lines a pixel), and their 55x55 and 27x27 Concats (1.5
// and 0.75 MB) were copied: 0.30 ms of 8.3 at one thread. Placed instead,
// at one thread the convolutions took about what the copies had (sum of the
// per-step minimums over 30 runs, TestExportedStepScaling, 2 pairs: Concats
// 0.30 → 0.025 ms, convolutions 7.56-7.63 → 7.81-7.87 ms), and at two threads
// the caller's CPU time over all steps fell from 3.80-4.28 to 3.24-3.28 ms:
// the split copy had each core read half of a map the other core's
// convolution wrote (docs/runtime.md, "2 threads on small models (eighth
// session)").

// concatViewWideBytes bounds one image of the buffer of a Concat whose
// inputs are all wide (the L2 cache of one core of the machine measured).
const concatViewWideBytes = 2 << 20

// concatViewWideChannels is the least channel count of every input of a
// Concat for concatViewWideBytes: 64 floats are four whole cache lines, so a
// producer writing its channels of a pixel writes whole lines.
const concatViewWideChannels = 64

// concatViewLimit is the per-image budget of the buffer of step st, a
// channels-last Concat: concatViewWideBytes for a plain Concat (not one fused
// with a BatchNormalization: DenseNet's blocks) whose inputs all have at
// least concatViewWideChannels channels and none of which is itself a Concat
// (whose own inputs would be placed in the buffer, possibly narrower),
// concatViewBytes otherwise.
func (s *Session) concatViewLimit(st step, producer map[int]int) int {
	cat, ok := st.kernel.(*nhwcConcatKernel)
	if !ok {
		return concatViewBytes
	}
	for j, id := range st.in {
		if cat.c[j] < concatViewWideChannels {
			return concatViewBytes
		}
		if p, ok := producer[id]; ok && concatOf(s.steps[p].kernel) != nil {
			return concatViewBytes
		}
	}
	return concatViewWideBytes
}
