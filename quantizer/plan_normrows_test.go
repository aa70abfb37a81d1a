package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// maskedBlockModel is a post-LN encoder's first block as torch.onnx writes it for
// DeBERTa: the embeddings x times the attention mask (a padded token's row is 0),
// a projection with its bias (the attention output), the residual Add, the layer
// normalization norm reads ("s" in, "n" out), and a projection of it.
func maskedBlockModel(rng *rand.Rand, norm []*graph.Node, branch []*graph.Node, opset int64) *graph.Model {
	b := testmodels.New(0)
	b.G.Name = "test"
	b.IRVersion = 8
	b.Opsets[""] = opset
	n := graph.Dim{Size: -1, Param: "N"}
	b.Input("x", n, graph.Dim{Size: 8}, graph.Dim{Size: 16})
	b.Input("mask", n, graph.Dim{Size: 8}, graph.Dim{Size: 1})
	bias := graph.NewTensor(graph.Float32, []int{16})
	for i := range bias.F32() {
		bias.F32()[i] = 0.05 * float32(rng.NormFloat64())
	}
	gamma, beta := graph.NewTensor(graph.Float32, []int{16}), graph.NewTensor(graph.Float32, []int{16})
	for i := range gamma.F32() {
		gamma.F32()[i] = 0.8 + 0.4*rng.Float32()
		beta.F32()[i] = 0.1 * float32(rng.NormFloat64())
	}
	for k, v := range map[string]*graph.Tensor{
		"w1": randTensor(rng, []int{16, 16}, 0.3), "b1": bias, "w2": randTensor(rng, []int{16, 16}, 0.3),
		"gamma": gamma, "beta": beta, "two": graph.ScalarFloat32(2), "eps": graph.ScalarFloat32(1e-7),
	} {
		b.G.Initializers[k] = v
	}
	nodes := []*graph.Node{node("Mul", []string{"x", "mask"}, []string{"e"})}
	nodes = append(nodes, branch...)
	nodes = append(nodes, norm...)
	nodes = append(nodes, node("MatMul", []string{"n", "w2"}, []string{"y"}))
	b.Output("y")
	b.G.Nodes = nodes
	m := b.Model()
	m.Metadata = map[string]string{}
	return m
}

// maskedTokens returns embeddings [n, 8, 16] and masks [n, 8, 1]: a sample's last
// 0-3 tokens are padding (pad false: none are).
func maskedTokens(rng *rand.Rand, n int, pad bool) map[string]*graph.Tensor {
	x := randTensor(rng, []int{n, 8, 16}, 1)
	mask := graph.NewTensor(graph.Float32, []int{n, 8, 1})
	for s := 0; s < n; s++ {
		p := 0
		if pad {
			p = rng.Intn(4)
		}
		for t := 0; t < 8; t++ {
			if t < 8-p {
				mask.F32()[s*8+t] = 1
			}
		}
	}
	return map[string]*graph.Tensor{"x": x, "mask": mask}
}

// A layer normalization whose input rows differ in scale (a padded token's residual
// sum is only a bias) reads that input in float32; where every row has the same
// scale nothing changes.
func TestQuantizeNormInputRowsFloat(t *testing.T) {
	rm := func(in, out string) *graph.Node {
		return node("ReduceMean", []string{in}, []string{out}, ints("axes", -1))
	}
	written := []*graph.Node{ // torch.onnx before opset 17
		rm("s", "mu"), node("Sub", []string{"s", "mu"}, []string{"d"}), node("Pow", []string{"d", "two"}, []string{"d2"}),
		rm("d2", "v"), node("Add", []string{"v", "eps"}, []string{"ve"}), node("Sqrt", []string{"ve"}, []string{"sd"}),
		node("Div", []string{"d", "sd"}, []string{"z"}), node("Mul", []string{"z", "gamma"}, []string{"g"}),
		node("Add", []string{"g", "beta"}, []string{"n"}),
	}
	layerNorm := []*graph.Node{node("LayerNormalization", []string{"s", "gamma", "beta"}, []string{"n"}, intAttr("axis", -1), floatAttr("epsilon", 1e-7))}
	residual := []*graph.Node{ // the attention output, then the residual Add
		node("MatMul", []string{"e", "w1"}, []string{"a"}), node("Add", []string{"a", "b1"}, []string{"h"}),
		node("Add", []string{"e", "h"}, []string{"s"}),
	}
	moved := []*graph.Node{ // a projection whose output is transposed before the normalization
		node("MatMul", []string{"e", "w1"}, []string{"a"}), node("Add", []string{"a", "b1"}, []string{"h"}),
		node("Transpose", []string{"h"}, []string{"s"}, ints("perm", 1, 0, 2)),
	}
	cases := []struct {
		name   string
		norm   []*graph.Node
		branch []*graph.Node
		opset  int64
		pad    bool
		// float: the nodes the rule runs float32 (none: the rule does not fire).
		float []string
		// gainDB: the least gain of y's SQNR over the plan without the rule.
		gainDB float64
	}{
		{"written-out LN after a residual Add, padded tokens", written, residual, 13, true, []string{"Add_s"}, 3},
		{"LayerNormalization after a residual Add, padded tokens", layerNorm, residual, 17, true, []string{"Add_s"}, 3},
		{"written-out LN after Transpose of a projection, padded tokens", written, moved, 13, true, []string{"Transpose_s", "Add_h"}, 3},
		{"written-out LN after a residual Add, no padding", written, residual, 13, false, nil, 0},
		{"LayerNormalization after a residual Add, no padding", layerNorm, residual, 17, false, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(22))
			m := maskedBlockModel(rng, tc.norm, tc.branch, tc.opset)
			c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
			require.NoError(t, err)
			require.NoError(t, c.Collect(maskedTokens(rng, 16, tc.pad)))
			r, err := c.ComputeRanges()
			require.NoError(t, err)
			spread := c.RowSpread()
			require.Contains(t, spread, "s", "the normalization's input is measured")
			without, err := Quantize(m, r, QuantOptions{})
			require.NoError(t, err)
			var notes []string
			with, err := Quantize(m, r, QuantOptions{RowSpread: spread, Notes: func(s string) { notes = append(notes, s) }})
			require.NoError(t, err)
			rules, err := FloatRules(with)
			require.NoError(t, err)
			var ruled []string
			for _, fr := range rules {
				if fr.Rule == normRowsRule {
					ruled = append(ruled, fr.Nodes...)
				}
			}
			if tc.float == nil {
				assert.Less(t, spread["s"], normRowsMinDB)
				assert.Empty(t, ruled)
				assert.Equal(t, countOps(without), countOps(with), "nothing changes")
				assert.True(t, dequantizedNames(with)["s"])
				return
			}
			assert.GreaterOrEqual(t, spread["s"], normRowsMinDB)
			for _, f := range tc.float {
				assert.Contains(t, ruled, f)
			}
			assert.False(t, dequantizedNames(with)["s"], "the normalization reads its input in float32")
			assert.True(t, dequantizedNames(with)["n"], "its output is quantized")
			assert.NotEmpty(t, notes)
			test := maskedTokens(rng, 16, tc.pad)
			dbWith := int8AgainstFloatDB(t, m, with, test, "y")
			dbWithout := int8AgainstFloatDB(t, m, without, test, "y")
			t.Logf("%s: spread %.1f dB, y %.1f dB with the rule, %.1f dB without", tc.name, spread["s"], dbWith, dbWithout)
			assert.Greater(t, dbWith-dbWithout, tc.gainDB)
		})
	}
}

// The row spread is mean(σ² + ε)·mean(1/(σ² + ε)) in dB over every row, whole
// tensors or pieces split anywhere.
func TestRowSpreadCounts(t *testing.T) {
	rows := [][]float32{{1, -1, 1, -1}, {2, -2, 2, -2}, {0.5, 0.5, 0.5, 0.5}}
	eps := 0.01
	// σ² = 1, 4, 0; with ε: 1.01, 4.01, 0.01
	v := []float64{1.01, 4.01, 0.01}
	var mv, mi float64
	for _, x := range v {
		mv += x / 3
		mi += 1 / x / 3
	}
	want := 10 * math.Log10(mv*mi)
	var flat []float32
	for _, r := range rows {
		flat = append(flat, r...)
	}
	cases := []struct {
		name   string
		pieces []int // lengths of the pieces the tensor arrives in
		ok     bool
	}{
		{"whole", []int{12}, true},
		{"by rows", []int{4, 4, 4}, true},
		{"split inside rows", []int{3, 2, 6, 1}, true},
		{"one value at a time", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
		{"incomplete last row", []int{11}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &rowStat{in: normInput{axis: -1, eps: eps}}
			require.True(t, s.setShape([]int{3, 4}))
			off := 0
			for _, n := range tc.pieces {
				s.add(flat[off : off+n])
				off += n
			}
			db, ok := s.spreadDB()
			require.Equal(t, tc.ok, ok)
			if ok {
				assert.InDelta(t, want, db, 1e-9)
			}
		})
	}
	t.Run("unknown row length", func(t *testing.T) {
		s := &rowStat{in: normInput{axis: -1}}
		assert.False(t, s.setShape([]int{3, -1}))
		s.add(flat)
		_, ok := s.spreadDB()
		assert.False(t, ok)
	})
	t.Run("equal rows spread 0 dB", func(t *testing.T) {
		s := &rowStat{in: normInput{axis: -1, eps: 1e-5}}
		require.True(t, s.setShape([]int{2, 4}))
		s.add([]float32{1, -1, 1, -1, -1, 1, -1, 1})
		db, ok := s.spreadDB()
		require.True(t, ok)
		assert.InDelta(t, 0, db, 1e-9)
	})
}
