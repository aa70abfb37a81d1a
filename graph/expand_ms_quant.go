package graph

// The com.microsoft quantization operators ONNX Runtime's quantization tools
// write, expanded into standard operators when a model is read (graph/expand.go;
// twenty-second session), each checked against ONNX Runtime 1.30's CPU kernels
// (scripts/make_ortc12_testdata.py):
//   - QuantizeLinear / DequantizeLinear in the com.microsoft domain (quantize_static
//     with UseQDQContribOps, and its 16-bit activation types, the QNN flows):
//     8-bit ones become the standard operators (per-tensor or per-axis); 16-bit
//     ones (int16, uint16) are written as arithmetic, per-tensor only:
//     saturate(round_half_even(x / scale) + zero_point) and (x - zero_point) · scale,
//     which stay float32 in a quantized model;
//   - QAttention (quantize_dynamic on a transformers-optimized BERT: its
//     DynamicQuantizeLinear output, int8 weights with a per-tensor or per-column
//     scale): the input dequantized, the constant weights dequantized once at
//     load, then the com.microsoft Attention expansion
//     (graph/expand_ort_transformers.go) with the same attributes.
//   - GatherBlockQuantized (onnxruntime-genai's builder for int4 / int8 token
//     embeddings): uint8 data, 4-bit fields packed two per byte (low first) or
//     8-bit, blocks along the last axis, (q - zero_point) · scale with the zero
//     point 8 or 128 when absent (packed like the data); the table dequantized
//     once at load, then Gather.
// Refused naming the node: other data types, 16-bit per-axis scales, QAttention
// weights computed at run time (and what Attention refuses: a past state).

import "fmt"

func init() {
	registerExpansion(msDomain, "QuantizeLinear", expandMSQuantizeLinear)
	registerExpansion(msDomain, "DequantizeLinear", expandMSDequantizeLinear)
	registerExpansion(msDomain, "QAttention", expandQAttention)
	registerExpansion(msDomain, "GatherBlockQuantized", expandGatherBlockQuantized)
}

// msQuantType is the integer type of a com.microsoft Q/DQ: its zero point's
// (uint8 without one, as ONNX Runtime).
func (e *expander) msQuantType(zp string) DType {
	if zp == "" {
		return Uint8
	}
	return e.dtypeOf(zp)
}

// scalarLike reports whether a scale is one value (a scalar or a [1]) as far as
// the file says (an unknown shape is not).
func (e *expander) scalarLike(name string) bool {
	if t := e.g.Initializers[name]; t != nil {
		return NumElements(t.Shape) == 1
	}
	if v := e.g.Values[name]; v != nil && v.HasShape {
		for _, d := range v.Shape {
			if !d.Known() || d.Size != 1 {
				return false
			}
		}
		return true
	}
	return false
}

func (e *expander) msQDQCommon(n *Node) (DType, error) {
	if in(n, 0) == "" || in(n, 1) == "" {
		return Undefined, fmt.Errorf("needs x and y_scale")
	}
	dt := e.msQuantType(in(n, 2))
	switch dt {
	case Int8, Uint8:
		return dt, nil
	case Int16, Uint16:
		if !e.scalarLike(in(n, 1)) {
			return Undefined, refuse("a %s scale %q per axis (16-bit is per-tensor only)", dt, in(n, 1))
		}
		return dt, nil
	}
	return Undefined, refuse("zero point of type %s (int8, uint8, int16, uint16 are supported)", dt)
}

func quantRange(dt DType) (float64, float64) {
	switch dt {
	case Int16:
		return -32768, 32767
	case Uint16:
		return 0, 65535
	case Int8:
		return -128, 127
	}
	return 0, 255
}

func expandMSQuantizeLinear(e *expander, n *Node) error {
	dt, err := e.msQDQCommon(n)
	if err != nil {
		return err
	}
	if dt == Int8 || dt == Uint8 {
		e.std("QuantizeLinear", n.Output(0), n.Inputs, e.axisAttr(n)...)
		return nil
	}
	y := e.std("Round", "", []string{e.std("Div", "", []string{in(n, 0), in(n, 1)})})
	if zp := in(n, 2); zp != "" {
		y = e.std("Add", "", []string{y, e.std("Cast", "", []string{zp}, IntAttr("to", int64(Float32)))})
	}
	lo, hi := quantRange(dt)
	e.std("Cast", n.Output(0), []string{e.clip(y, "", float32(lo), float32(hi), Float32)}, IntAttr("to", int64(dt)))
	return nil
}

func expandMSDequantizeLinear(e *expander, n *Node) error {
	dt, err := e.msQDQCommon(n)
	if err != nil {
		return err
	}
	if dt == Int8 || dt == Uint8 {
		e.std("DequantizeLinear", n.Output(0), n.Inputs, e.axisAttr(n)...)
		return nil
	}
	x := e.std("Cast", "", []string{in(n, 0)}, IntAttr("to", int64(Float32)))
	if zp := in(n, 2); zp != "" {
		x = e.std("Sub", "", []string{x, e.std("Cast", "", []string{zp}, IntAttr("to", int64(Float32)))})
	}
	e.std("Mul", n.Output(0), []string{x, in(n, 1)})
	return nil
}

// axisAttr carries a Q/DQ's axis attribute over (none when absent).
func (e *expander) axisAttr(n *Node) []*Attr {
	if a := n.Attrs["axis"]; a != nil {
		return []*Attr{a}
	}
	return nil
}

func expandQAttention(e *expander, n *Node) error {
	x, w, bias, xs, ws, mask, xzp, wzp := in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4), in(n, 5), in(n, 6), in(n, 7)
	if x == "" || w == "" || bias == "" || xs == "" || ws == "" {
		return fmt.Errorf("needs input, weight, bias, input_scale and weight_scale")
	}
	if in(n, 8) != "" {
		return refuse("a past state (past)")
	}
	wt, wst := e.g.Initializers[w], e.g.Initializers[ws]
	if wt == nil || wst == nil {
		return refuse("weight %q and weight_scale %q computed at run time (only constant weights are dequantized)", w, ws)
	}
	if len(wt.Shape) != 2 || (wt.DType != Int8 && wt.DType != Uint8) || wst.DType != Float32 {
		return fmt.Errorf("weight %s %v with weight_scale %s: expected an int8 or uint8 [hidden, 3·hidden] and float32 scales", wt.DType, wt.Shape, wst.DType)
	}
	cols := wt.Shape[1]
	sc := wst.F32()
	if len(sc) != 1 && len(sc) != cols {
		return fmt.Errorf("weight_scale has %d values, expected 1 or %d (per column)", len(sc), cols)
	}
	wq, _ := wt.AsFloat64()
	zps := []float64{0}
	if wzp != "" {
		zt := e.g.Initializers[wzp]
		if zt == nil {
			return refuse("weight_zero_point %q computed at run time", wzp)
		}
		zps, _ = zt.AsFloat64()
		if len(zps) != 1 && len(zps) != cols {
			return fmt.Errorf("weight_zero_point has %d values, expected 1 or %d (per column)", len(zps), cols)
		}
	}
	wf := make([]float32, len(wq))
	for i, q := range wq {
		c := i % cols
		wf[i] = float32(q-zps[c%len(zps)]) * sc[c%len(sc)]
	}
	ins := []string{x, xs}
	if xzp != "" {
		ins = append(ins, xzp)
	}
	xf := e.std("DequantizeLinear", "", ins)
	attn := &Node{Name: n.Name, OpType: "Attention", Domain: msDomain, Attrs: n.Attrs, Outputs: n.Outputs,
		Inputs: []string{xf, e.constant("weight", FromFloat32(append([]int(nil), wt.Shape...), wf)), bias, mask}}
	return expandMSAttention(e, attn)
}

// BlockQuantizedTable dequantizes GatherBlockQuantized's uint8 table: rows of
// k values (bits 4: two per byte, low first; bits 8: one), blocks of blockSize
// along a row, scales [rows, blocks], zp nil (2^(bits-1)) or uint8 packed like
// the data, [rows, ceil(blocks·bits/8)]. The result is float32 [rows, k].
func BlockQuantizedTable(rows, k, bits, blockSize int, data []uint8, scales []float32, zp []uint8) ([]float32, error) {
	if bits != 4 && bits != 8 {
		return nil, fmt.Errorf("bits %d (4 or 8 are supported)", bits)
	}
	if rows < 1 || k < 1 || blockSize < 16 || blockSize&(blockSize-1) != 0 {
		return nil, fmt.Errorf("%d rows of %d values in blocks of %d (block_size a power of 2, at least 16)", rows, k, blockSize)
	}
	per := 8 / bits
	if len(data) != rows*k/per || k%per != 0 {
		return nil, fmt.Errorf("data has %d bytes, expected %d rows of %d %d-bit values", len(data), rows, k, bits)
	}
	blocks := (k + blockSize - 1) / blockSize
	if len(scales) != rows*blocks {
		return nil, fmt.Errorf("scales has %d values, expected rows·blocks = %d·%d", len(scales), rows, blocks)
	}
	zpRow := (blocks*bits + 7) / 8
	if zp != nil && len(zp) != rows*zpRow {
		return nil, fmt.Errorf("zero_points has %d bytes, expected %d rows of %d", len(zp), rows, zpRow)
	}
	mask := uint8(1<<bits - 1)
	field := func(buf []uint8, i int) uint8 { return buf[i*bits/8] >> (i * bits % 8) & mask }
	out := make([]float32, rows*k)
	for r := 0; r < rows; r++ {
		row := data[r*k/per : (r+1)*k/per]
		for j := 0; j < k; j++ {
			b := j / blockSize
			z := uint8(1 << (bits - 1))
			if zp != nil {
				z = field(zp[r*zpRow:(r+1)*zpRow], b)
			}
			out[r*k+j] = float32(int(field(row, j))-int(z)) * scales[r*blocks+b]
		}
	}
	return out, nil
}

func expandGatherBlockQuantized(e *expander, n *Node) error {
	d, idx, sc, zp := in(n, 0), in(n, 1), in(n, 2), in(n, 3)
	if d == "" || idx == "" || sc == "" {
		return fmt.Errorf("needs data, indices and scales")
	}
	dt, st := e.g.Initializers[d], e.g.Initializers[sc]
	if dt == nil || st == nil {
		return refuse("data %q and scales %q computed at run time (only a constant table is dequantized)", d, sc)
	}
	if dt.DType != Uint8 {
		return refuse("data of type %s (packed uint8 only)", dt.DType)
	}
	if st.DType != Float32 {
		return refuse("scales of type %s (float32 only)", st.DType)
	}
	if len(dt.Shape) != 2 {
		return refuse("data of shape %v (a 2-D table only)", dt.Shape)
	}
	if qa := n.AttrInt("quantize_axis", 1); qa != 1 && qa != -1 {
		return refuse("quantize_axis %d (blocks along the last axis only)", qa)
	}
	bits := int(n.AttrInt("bits", 4))
	if bits != 4 && bits != 8 {
		return refuse("bits %d (4 or 8 are supported)", bits)
	}
	var z []uint8
	if zp != "" {
		zt := e.g.Initializers[zp]
		if zt == nil || zt.DType != Uint8 {
			return refuse("zero_points %q that are not a constant packed uint8", zp)
		}
		z = zt.Data.([]uint8)
	}
	rows, k := dt.Shape[0], dt.Shape[1]*(8/bits)
	table, err := BlockQuantizedTable(rows, k, bits, int(n.AttrInt("block_size", 128)), dt.Data.([]uint8), st.Data.([]float32), z)
	if err != nil {
		return err
	}
	e.std("Gather", n.Output(0), []string{e.constant("table", FromFloat32([]int{rows, k}, table)), idx},
		IntAttr("axis", n.AttrInt("gather_axis", 0)))
	return nil
}
