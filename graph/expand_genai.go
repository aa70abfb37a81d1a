package graph

// The operators onnxruntime-genai's model builder and ONNX Runtime's 4-bit
// quantizer (MatMul4BitsQuantizer) write into decoder models, expanded into
// standard operators when a model is read (graph/expand.go; twentieth session,
// the unseen15 set):
//   - SimplifiedLayerNormalization (ONNX Runtime registers it in the ai.onnx
//     domain): RMSNorm, x / sqrt(mean(x²) + epsilon) · scale over the axes from
//     axis on, as ONNX Runtime's kernel computes it (a division, then the scale);
//   - com.microsoft SkipSimplifiedLayerNormalization: the same of input + skip
//     (+ bias), the sum as its fourth output;
//   - com.microsoft MatMulNBits with constant weights: the 2-, 4- or 8-bit blocks
//     dequantized once to a float32 [K, N] weight, (q - zero point) · scale, then
//     MatMul (+ bias). The quantizer then sees a MatMul with a constant float
//     weight like any other.
// RotaryEmbedding, whose expansion would depend on its input's rank, is an
// operator of its own (graph/ops_rotary.go).

import "fmt"

func init() {
	registerExpansion("", "SimplifiedLayerNormalization", expandSimplifiedLayerNorm)
	registerExpansion(msDomain, "SkipSimplifiedLayerNormalization", expandSkipSimplifiedLayerNorm)
	registerExpansion(msDomain, "MatMulNBits", expandMatMulNBits)
}

// rmsNorm writes x / sqrt(mean(x² over axes) + eps) · scale into out.
func (e *expander) rmsNorm(x, scale, out string, axes []int64, eps float32) {
	dt := e.dtypeOf(x)
	sq := e.std("Mul", "", []string{x, x})
	ms := e.reduce("ReduceMean", sq, axes, true)
	rms := e.std("Sqrt", "", []string{e.std("Add", "", []string{ms, e.scalar(float64(eps), dt)})})
	e.std("Mul", out, []string{e.std("Div", "", []string{x, rms}), scale})
}

// normAxes lists the axes from axis to the last: negative axes need no rank, a
// non-negative one needs x's rank from the file.
func (e *expander) normAxes(x string, axis int64) ([]int64, error) {
	if axis < 0 {
		var axes []int64
		for a := axis; a < 0; a++ {
			axes = append(axes, a)
		}
		return axes, nil
	}
	v := e.g.Values[x]
	if v == nil || !v.HasShape {
		return nil, refuse("axis %d on input %q of unknown rank (a negative axis needs none)", axis, x)
	}
	if int(axis) >= len(v.Shape) {
		return nil, fmt.Errorf("axis %d is out of range for input %q of rank %d", axis, x, len(v.Shape))
	}
	var axes []int64
	for a := axis; a < int64(len(v.Shape)); a++ {
		axes = append(axes, a)
	}
	return axes, nil
}

func expandSimplifiedLayerNorm(e *expander, n *Node) error {
	if len(n.Inputs) != 2 || in(n, 0) == "" || in(n, 1) == "" {
		return fmt.Errorf("needs inputs X and scale, has %d inputs", len(n.Inputs))
	}
	if n.Output(1) != "" {
		return refuse("the inv_std_var output")
	}
	if st := n.AttrInt("stash_type", 1); st != 1 {
		return refuse("stash_type %d (float32 statistics only)", st)
	}
	axes, err := e.normAxes(in(n, 0), n.AttrInt("axis", -1))
	if err != nil {
		return err
	}
	e.rmsNorm(in(n, 0), in(n, 1), n.Output(0), axes, n.AttrFloat("epsilon", 1e-5))
	return nil
}

func expandSkipSimplifiedLayerNorm(e *expander, n *Node) error {
	if len(n.Inputs) < 3 || in(n, 0) == "" || in(n, 1) == "" || in(n, 2) == "" {
		return fmt.Errorf("needs inputs input, skip and gamma, has %d inputs", len(n.Inputs))
	}
	if n.Output(1) != "" || n.Output(2) != "" {
		return refuse("the mean and inv_std_var outputs")
	}
	sum := e.std("Add", "", []string{in(n, 0), in(n, 1)})
	if b := in(n, 3); b != "" {
		sum = e.std("Add", "", []string{sum, b})
	}
	if o := n.Output(3); o != "" {
		sum = e.std("Identity", o, []string{sum})
	}
	e.rmsNorm(sum, in(n, 2), n.Output(0), []int64{-1}, n.AttrFloat("epsilon", 1e-12))
	return nil
}

// NBitsWeight dequantizes MatMulNBits' packed weight: b is uint8 [N, blocks,
// blockSize·bits/8] (fields of BITS bits, lowest first), scales float32
// [N·blocks], zp nil (the default zero point 2^(bits-1)) or uint8 [N·ceil(blocks·bits/8)]
// packed the same way. The result is the float32 [K, N] weight A is multiplied by.
func NBitsWeight(k, n, bits, blockSize int, b []uint8, scales []float32, zp []uint8) ([]float32, error) {
	if bits != 2 && bits != 4 && bits != 8 {
		return nil, fmt.Errorf("bits %d (2, 4 or 8 are supported)", bits)
	}
	if k < 1 || n < 1 || blockSize < 16 || blockSize&(blockSize-1) != 0 {
		return nil, fmt.Errorf("K %d, N %d and block_size %d (a power of 2, at least 16)", k, n, blockSize)
	}
	blocks := (k + blockSize - 1) / blockSize
	blob := blockSize * bits / 8
	if len(b) != n*blocks*blob {
		return nil, fmt.Errorf("B has %d bytes, expected N·blocks·blob = %d·%d·%d", len(b), n, blocks, blob)
	}
	if len(scales) != n*blocks {
		return nil, fmt.Errorf("scales has %d values, expected N·blocks = %d", len(scales), n*blocks)
	}
	zpRow := (blocks*bits + 7) / 8
	if zp != nil && len(zp) != n*zpRow {
		return nil, fmt.Errorf("zero_points has %d bytes, expected N·ceil(blocks·bits/8) = %d", len(zp), n*zpRow)
	}
	mask := uint8(1<<bits - 1)
	field := func(buf []uint8, i int) uint8 { return buf[i*bits/8] >> (i * bits % 8) & mask }
	w := make([]float32, k*n)
	for col := 0; col < n; col++ {
		for blk := 0; blk < blocks; blk++ {
			z := uint8(1 << (bits - 1))
			if zp != nil {
				z = field(zp[col*zpRow:(col+1)*zpRow], blk)
			}
			s := scales[col*blocks+blk]
			data := b[(col*blocks+blk)*blob:][:blob]
			for j := 0; j < blockSize; j++ {
				row := blk*blockSize + j
				if row >= k {
					break
				}
				w[row*n+col] = float32(int(field(data, j))-int(z)) * s
			}
		}
	}
	return w, nil
}

func expandMatMulNBits(e *expander, n *Node) error {
	if in(n, 0) == "" || in(n, 1) == "" || in(n, 2) == "" {
		return fmt.Errorf("needs inputs A, B and scales")
	}
	if in(n, 4) != "" {
		return refuse("g_idx (act-order group indices)")
	}
	k, nn := n.AttrInt("K", 0), n.AttrInt("N", 0)
	bits, bs := n.AttrInt("bits", 4), n.AttrInt("block_size", 0)
	if k < 1 || nn < 1 || k > 1<<24 || nn > 1<<24 {
		return fmt.Errorf("attributes K %d and N %d must be positive", k, nn)
	}
	b, sc := e.g.Initializers[in(n, 1)], e.g.Initializers[in(n, 2)]
	if b == nil || sc == nil {
		return refuse("B and scales computed at run time (only constant weights are dequantized)")
	}
	if b.DType != Uint8 {
		return fmt.Errorf("B is %s, expected uint8", b.DType)
	}
	if sc.DType != Float32 {
		return refuse("scales of type %s (float32 only)", sc.DType)
	}
	var zp []uint8
	if z := in(n, 3); z != "" {
		zt := e.g.Initializers[z]
		if zt == nil {
			return refuse("zero_points computed at run time")
		}
		if zt.DType != Uint8 {
			return refuse("zero_points of type %s (packed uint8 only)", zt.DType)
		}
		zp = zt.Data.([]uint8)
	}
	w, err := NBitsWeight(int(k), int(nn), int(bits), int(bs), b.Data.([]uint8), sc.Data.([]float32), zp)
	if err != nil {
		return err
	}
	wt := e.constant("weight", FromFloat32([]int{int(k), int(nn)}, w))
	if bias := in(n, 5); bias != "" {
		e.std("Add", n.Output(0), []string{e.std("MatMul", "", []string{in(n, 0), wt}), bias})
		return nil
	}
	e.std("MatMul", n.Output(0), []string{in(n, 0), wt})
	return nil
}
