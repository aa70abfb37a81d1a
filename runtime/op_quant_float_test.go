package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestQuantizeOps(t *testing.T) {
	s := func(d ...int) []int { return d }
	nan := float32(math.NaN())
	runNodeCases(t, []nodeCase{
		{name: "round half to even, int8", node: mk("QuantizeLinear", 3, 1),
			inputs: []*graph.Tensor{f32(s(6), 0.5, 1.5, 2.5, -0.5, -1.5, -2.5), f32(nil, 1), i8(nil, 0)},
			want:   []*graph.Tensor{i8(s(6), 0, 2, 2, 0, -2, -2)}},
		{name: "saturation int8", node: mk("QuantizeLinear", 3, 1),
			inputs: []*graph.Tensor{f32(s(3), 1000, -1000, nan), f32(nil, 2), i8(nil, 3)},
			want:   []*graph.Tensor{i8(s(3), 127, -128, 3)}},
		{name: "default zero point is uint8 0", node: mk("QuantizeLinear", 2, 1),
			inputs: []*graph.Tensor{f32(s(3), -1, 0.4, 300), f32(nil, 1)},
			want:   []*graph.Tensor{u8(s(3), 0, 0, 255)}},
		{name: "division in float32", node: mk("QuantizeLinear", 3, 1),
			// float32(0.35)/float32(0.1) is exactly 3.5 in float32 (-> 4, half to
			// even) but 3.4999999 in float64 (-> 3); ONNX and ONNX Runtime give 4.
			inputs: []*graph.Tensor{f32(s(2), 0.3, 0.35), f32(nil, 0.1), u8(nil, 0)},
			want:   []*graph.Tensor{u8(s(2), 3, 4)}},
		{name: "per-axis", node: mk("QuantizeLinear", 3, 1, aInt("axis", 1)),
			inputs: []*graph.Tensor{f32(s(2, 2), 1, 1, 2, 2), f32(s(2), 1, 0.5), u8(s(2), 0, 10)},
			want:   []*graph.Tensor{u8(s(2, 2), 1, 12, 2, 14)}},
		{name: "per-axis needs matching size", node: mk("QuantizeLinear", 3, 1, aInt("axis", 0)),
			inputs:  []*graph.Tensor{f32(s(3, 2), 1, 1, 2, 2, 3, 3), f32(s(2), 1, 0.5), u8(s(2), 0, 10)},
			wantErr: "axis"},
		{name: "dequantize per-tensor", node: mk("DequantizeLinear", 3, 1),
			inputs: []*graph.Tensor{u8(s(3), 0, 128, 255), f32(nil, 0.5), u8(nil, 128)},
			want:   []*graph.Tensor{f32(s(3), -64, 0, 63.5)}},
		{name: "dequantize per-axis int8", node: mk("DequantizeLinear", 3, 1, aInt("axis", 0)),
			inputs: []*graph.Tensor{i8(s(2, 2), -128, 127, -1, 1), f32(s(2), 1, 2), i8(s(2), 0, -1)},
			want:   []*graph.Tensor{f32(s(2, 2), -128, 127, 0, 4)}},
		{name: "dequantize int32 bias", node: mk("DequantizeLinear", 2, 1),
			inputs: []*graph.Tensor{i32(s(2), -1000, 7), f32(nil, 0.25)},
			want:   []*graph.Tensor{f32(s(2), -250, 1.75)}},
		{name: "dequantize zero point type mismatch", node: mk("DequantizeLinear", 3, 1),
			inputs: []*graph.Tensor{u8(s(1), 1), f32(nil, 1), i8(nil, 0)}, wantErr: "dtype mismatch"},
		{name: "per-axis before opset 13", opset: 11, node: mk("DequantizeLinear", 3, 1),
			inputs: []*graph.Tensor{u8(s(2), 1, 2), f32(s(2), 1, 2), u8(s(2), 0, 0)}, wantErr: "opset 13"},
		{name: "dynamic", opset: 11, node: mk("DynamicQuantizeLinear", 1, 3),
			inputs: []*graph.Tensor{f32(s(4), -1, 0, 1, 2)},
			// range [-1, 2]: scale 3/255, zero point round(255/3) = 85.
			want: []*graph.Tensor{u8(s(4), 0, 85, 170, 255), f32(nil, 3.0/255), u8(nil, 85)}},
		{name: "dynamic all positive", opset: 11, node: mk("DynamicQuantizeLinear", 1, 3),
			inputs: []*graph.Tensor{f32(s(2), 0.5, 2.55)},
			want:   []*graph.Tensor{u8(s(2), 50, 255), f32(nil, 0.01), u8(nil, 0)}},
		{name: "dynamic all zero", opset: 11, node: mk("DynamicQuantizeLinear", 1, 3),
			inputs: []*graph.Tensor{f32(s(2), 0, 0)},
			want:   []*graph.Tensor{u8(s(2), 0, 0), f32(nil, 0), u8(nil, 0)}},
	})
}

// TestQuantizeDequantizeRoundTrip checks that dequantize(quantize(x)) is within half a
// step of x inside the representable range.
func TestQuantizeDequantizeRoundTrip(t *testing.T) {
	x := make([]float32, 1001)
	for i := range x {
		x[i] = -5 + float32(i)*0.01
	}
	scale, zp := DynamicQuantizeParams(-5, 5)
	q := quantizeFloat(x, []float32{scale}, []uint8{zp}, 1, 1)
	back := dequantizeTyped(q, []float32{scale}, []uint8{zp}, 1, 1)
	for i := range x {
		require.InDelta(t, x[i], back[i], float64(scale)/2+1e-6, "x=%v", x[i])
	}
}
