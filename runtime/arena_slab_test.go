package runtime

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// tensorBytes is a tensor's data as bytes (NaN payloads included).
func tensorBytes(t *graph.Tensor) []byte {
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return nil
	}
	n := v.Len() * int(v.Type().Elem().Size())
	return bytes.Clone(unsafe.Slice((*byte)(v.UnsafePointer()), n))
}

func snapshot(res map[string]*graph.Tensor) map[string][]byte {
	out := map[string][]byte{}
	for name, t := range res {
		out[name] = tensorBytes(t)
	}
	return out
}

// TestSlabRunsAgree: the first run of a session allocates its small tensors
// (it learns the block's size), the later ones carve them from the block
// (arena_slab.go) and reuse the run state (session_runstate.go). Every run of
// the same input gives the first run's outputs bit for bit, whatever ran in
// between, and a run's results stay what they were after later runs (they
// were copied out of the block, which the later runs overwrite). Float and
// int8 sessions, exported graphs (attention, recurrent, Loop/If) and the
// fused int8 attention, at 1 and 2 threads.
func TestSlabRunsAgree(t *testing.T) {
	dir := filepath.Join("..", "testdata", "exported")
	npz := func(sub, name string) map[string]*graph.Tensor {
		in, err := dataset.ReadNPZ(filepath.Join(dir, sub, name))
		require.NoError(t, err)
		return in
	}
	npy := func(name string) map[string]*graph.Tensor {
		x, err := dataset.ReadNPY(filepath.Join(dir, "npy_control", name))
		require.NoError(t, err)
		return map[string]*graph.Tensor{"x": x}
	}
	load := func(name string) *graph.Model {
		m, err := graph.Load(filepath.Join(dir, name))
		require.NoError(t, err)
		return m
	}
	rng := rand.New(rand.NewSource(5))
	fm := cnnModel(4)
	cnnIn := func() map[string]*graph.Tensor {
		return map[string]*graph.Tensor{"input": randInput(rng, []int{1, 3, 12, 12}, -1, 1)}
	}
	qcnn := qdqify(t, fm, cnnIn(), qdqOptions{})
	attn, attnIn := int8AttentionModel(rng)
	type tc struct {
		name   string
		m      *graph.Model
		mode   Mode
		inputs []map[string]*graph.Tensor
	}
	cases := []tc{
		{"minibert f32", load("minibert_opset14.onnx"), ModeFloat, []map[string]*graph.Tensor{npz("npz_bert", "s0.npz"), npz("npz_bert", "s1.npz")}},
		{"ort_bert_attention f32", load("ort_bert_attention_op13.onnx"), ModeFloat, []map[string]*graph.Tensor{npz("npz_u16_ort_bert_attention_op13", "s0.npz"), npz("npz_u16_ort_bert_attention_op13", "s1.npz")}},
		{"rwkv f32", load("rwkv_small_op13.onnx"), ModeFloat, []map[string]*graph.Tensor{npz("npz_rwkv", "s0.npz"), npz("npz_rwkv", "s1.npz")}},
		{"control_flow f32", load("control_flow_opset13.onnx"), ModeFloat, []map[string]*graph.Tensor{npy("pos.npy"), npy("mixed.npy")}},
		{"torchq int8", load("torchq_qnnpack_opset13.onnx"), ModeInt8, []map[string]*graph.Tensor{npz("npz_torchq", "s0.npz"), npz("npz_torchq", "s1.npz")}},
		{"cnn int8", qcnn, ModeInt8, []map[string]*graph.Tensor{cnnIn(), cnnIn()}},
		{"fused attention int8", attn, ModeInt8, []map[string]*graph.Tensor{attnIn(), attnIn()}},
	}
	for _, c := range cases {
		for _, threads := range []int{1, 2} {
			s, err := NewSession(c.m, WithMode(c.mode), WithThreads(threads))
			require.NoError(t, err, c.name)
			first, err := s.RunTensors(c.inputs[0])
			require.NoError(t, err, c.name)
			want := snapshot(first)
			require.Positive(t, s.bufs.slabNeed, "%s: the first run asked for no small tensors", c.name)
			var kept []map[string]*graph.Tensor
			var keptWant []map[string][]byte
			for rep := 0; rep < 3; rep++ {
				for i, in := range c.inputs {
					res, err := s.RunTensors(in)
					require.NoError(t, err, c.name)
					if i == 0 {
						require.Equal(t, want, snapshot(res), "%s threads %d run %d: not the first run's outputs", c.name, threads, rep)
					}
					kept = append(kept, res)
					keptWant = append(keptWant, snapshot(res))
				}
			}
			for r := range kept {
				require.Equal(t, keptWant[r], snapshot(kept[r]), "%s threads %d: result %d changed by later runs", c.name, threads, r)
			}
			require.Equal(t, want, snapshot(first), "%s threads %d: the first result changed by later runs", c.name, threads)
		}
	}
}

// int8AttentionModel is BenchmarkInt8Attention's masked attention block
// (4 heads of 16 tokens, d = 8: the fused int8 step) and an input maker.
func int8AttentionModel(rng *rand.Rand) (*graph.Model, func() map[string]*graph.Tensor) {
	h, m, d := 4, 16, 8
	mb := newMB(1)
	mb.Input("q", staticDims(h, m, d)...)
	mb.Input("kt", staticDims(h, d, m)...)
	mb.Input("v", staticDims(h, m, d)...)
	mb.Input("mask", staticDims(h, 1, m)...)
	sc := mb.qdqNode(mb.Node("MatMul", []string{mb.qdqNode("q", 0.02, 3), mb.qdqNode("kt", 0.02, -4)}), 0.05, 2)
	x := mb.Node("Add", []string{mb.Node("Div", []string{sc, mb.Init("d", graph.ScalarFloat32(2.828427))}), "mask"})
	p := mb.qdqNode(mb.Node("Softmax", []string{x}, graph.IntAttr("axis", -1)), 1.0/255, -128)
	mb.Output(mb.qdqNode(mb.Node("MatMul", []string{p, mb.qdqNode("v", 0.02, 1)}), 0.02, 0))
	return mb.Model(), func() map[string]*graph.Tensor {
		return map[string]*graph.Tensor{
			"q": randInput(rng, []int{h, m, d}, -2, 2), "kt": randInput(rng, []int{h, d, m}, -2, 2),
			"v": randInput(rng, []int{h, m, d}, -2, 2), "mask": randInput(rng, []int{h, 1, m}, -1, 0),
		}
	}
}
