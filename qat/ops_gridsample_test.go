package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// gridModel samples x [N, 2, 4, 5] at a grid computed from x itself (1.3·tanh of
// a slice of its channels: some locations outside [-1, 1]), or at a constant grid.
func gridModel(attrs []*graph.Attr, constGrid bool) *graph.Model {
	nodes := []*graph.Node{
		node("Slice", []string{"x", "st", "en", "axs"}, "s"),
		node("Transpose", []string{"s"}, "st2", ints("perm", 0, 2, 3, 1)),
		node("Tanh", []string{"st2"}, "th"), node("Mul", []string{"th", "k"}, "grid"),
	}
	grid := "grid"
	inits := map[string]*graph.Tensor{"st": i64(0, 0, 0), "en": i64(2, 3, 3), "axs": i64(1, 2, 3), "k": graph.ScalarFloat32(1.3)}
	if constGrid {
		nodes, grid = nil, "cgrid"
		rng := rand.New(rand.NewSource(4))
		inits = map[string]*graph.Tensor{"cgrid": randTensor(rng, 1.2, 3, 3, 3, 2)}
	}
	gs := node("GridSample", []string{"x", grid}, "g", attrs...)
	nodes = append(nodes, gs, node("Mul", []string{"g", "g"}, "y"))
	m := tinyModel{[]int{2, 4, 5}, nodes, inits}.model()
	m.Opsets[""] = 16
	return m
}

// TestGridSampleGradients: GridSample's forward pass against the runtime and its
// gradients (of X and of a grid computed from the data) against finite
// differences, bilinear with zeros and border padding, with and without
// align_corners, and nearest at a constant grid; nearest at a grid computed from
// the data passes the grid no gradient (the weights computing only it are named);
// bicubic trains X and the grid (the cubic weights' slopes); an unknown padding
// is refused naming the node (reflection: TestGridSampleGridGradient).
func TestGridSampleGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attrs  []*graph.Attr
		const_ bool
	}{
		{"bilinear zeros", nil, false},
		{"bilinear border align_corners", []*graph.Attr{strAttr("padding_mode", "border"), intAttr("align_corners", 1)}, false},
		{"bilinear zeros align_corners", []*graph.Attr{intAttr("align_corners", 1)}, false},
		{"nearest at a constant grid", []*graph.Attr{strAttr("mode", "nearest")}, true},
		{"bicubic at a constant grid, border", []*graph.Attr{strAttr("mode", "bicubic"), strAttr("padding_mode", "border")}, true},
		{"bicubic zeros", []*graph.Attr{strAttr("mode", "bicubic")}, false},
		{"bicubic border", []*graph.Attr{strAttr("mode", "bicubic"), strAttr("padding_mode", "border")}, false},
		{"cubic (opset 20's name) align_corners", []*graph.Attr{strAttr("mode", "cubic"), intAttr("align_corners", 1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := gridModel(tc.attrs, tc.const_)
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			if tc.const_ {
				checkForwardMatchesRuntime(t, m, n, 3)
				checkGrads(t, n, 3, false)
				return
			}
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
			checkForwardMatchesRuntime(t, m, n, 2)
		})
	}
	// nearest at a grid computed from the data: no gradient along the grid (as
	// PyTorch's grid_sampler), so a weight that computes only the grid gets none
	// and is named, GridSample where it stops
	nearest := gridModel([]*graph.Attr{strAttr("mode", "nearest")}, false)
	for _, nd := range nearest.Graph.Nodes {
		if nd.OpType == "Tanh" {
			nd.Inputs[0] = "stw"
		}
	}
	nearest.Graph.Nodes = append([]*graph.Node{node("MatMul", []string{"st2", "wg"}, "stw")}, nearest.Graph.Nodes...)
	nearest.Graph.Initializers["wg"] = graph.FromFloat32([]int{2, 2}, []float32{0.9, 0.2, -0.1, 1.1})
	require.NoError(t, nearest.Graph.TopoSort())
	nearest = weightFirst(nearest, 5) // a weight on X's path too
	n, err := New(nearest, Config{FloatOnly: true})
	require.NoError(t, err)
	require.NotNil(t, n.NoGradient())
	require.Equal(t, []string{"wg"}, n.NoGradient().Params)
	require.Equal(t, []string{`GridSample "g_node"`}, n.NoGradient().Through)
	checkForwardMatchesRuntime(t, nearest, n, 3)
	for _, tc := range []struct {
		attrs []*graph.Attr
		want  string
	}{
		{[]*graph.Attr{strAttr("padding_mode", "wrap")}, `padding_mode "wrap"`},
	} {
		_, err := New(weightFirst(gridModel(tc.attrs, false), 5), Config{FloatOnly: true})
		require.ErrorContains(t, err, "g_node")
		require.ErrorContains(t, err, tc.want)
	}
}

// volumeGridModel samples x [N, 3, 3, 4, 5] at a grid [N, 2, 3, 3, 3] computed
// from x (1.3·tanh of a slice of its channels), or at a constant grid: opset
// 20's GridSample of a volume.
func volumeGridModel(attrs []*graph.Attr, constGrid bool) *graph.Model {
	nodes := []*graph.Node{
		node("Slice", []string{"x", "st", "en", "axs"}, "s"),
		node("Transpose", []string{"s"}, "st2", ints("perm", 0, 2, 3, 4, 1)),
		node("Tanh", []string{"st2"}, "th"), node("Mul", []string{"th", "k"}, "grid"),
	}
	grid := "grid"
	inits := map[string]*graph.Tensor{"st": i64(0, 0, 0, 0), "en": i64(3, 2, 3, 3), "axs": i64(1, 2, 3, 4), "k": graph.ScalarFloat32(1.3)}
	if constGrid {
		nodes, grid = nil, "cgrid"
		rng := rand.New(rand.NewSource(5))
		inits = map[string]*graph.Tensor{"cgrid": randTensor(rng, 1.2, 3, 2, 3, 3, 3)}
	}
	gs := node("GridSample", []string{"x", grid}, "g", attrs...)
	nodes = append(nodes, gs, node("Mul", []string{"g", "g"}, "y"))
	m := tinyModel{[]int{3, 3, 4, 5}, nodes, inits}.model()
	m.Opsets[""] = 20
	return m
}

// TestGridSampleVolumeGradients: GridSample of a volume (trilinear, zeros and
// border padding, with and without align_corners; nearest at a constant grid)
// against the runtime, and its gradients, of X and of the grid, against finite
// differences.
func TestGridSampleVolumeGradients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attrs  []*graph.Attr
		const_ bool
	}{
		{"trilinear zeros", []*graph.Attr{strAttr("mode", "linear")}, false},
		{"trilinear border align_corners", []*graph.Attr{strAttr("mode", "linear"), strAttr("padding_mode", "border"), intAttr("align_corners", 1)}, false},
		{"nearest at a constant grid", []*graph.Attr{strAttr("mode", "nearest")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := volumeGridModel(tc.attrs, tc.const_)
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
			if !tc.const_ { // a constant grid is of batch 3
				checkForwardMatchesRuntime(t, m, n, 2)
			}
		})
	}
}

// TestGridSampleVolumeGridGradient: the grid's own gradient, the grid the input
// (a registration network's flow) sampling a constant volume: every entry of x
// is a grid coordinate, so finite differences see all three components.
func TestGridSampleVolumeGridGradient(t *testing.T) {
	for _, attrs := range [][]*graph.Attr{
		{strAttr("mode", "linear")},
		{strAttr("mode", "linear"), strAttr("padding_mode", "border"), intAttr("align_corners", 1)},
	} {
		rng := rand.New(rand.NewSource(6))
		m := tinyModel{[]int{2, 3, 3, 3}, []*graph.Node{
			node("Mul", []string{"x", "k"}, "grid"),
			node("GridSample", []string{"vol", "grid"}, "g", attrs...),
			node("Mul", []string{"g", "g"}, "y")},
			map[string]*graph.Tensor{"k": graph.ScalarFloat32(0.1), "vol": randTensor(rng, 1, 3, 2, 3, 4, 5)}}.model()
		m.Opsets[""] = 20
		n, err := New(m, Config{FloatOnly: true, Threads: 2})
		require.NoError(t, err)
		checkForwardMatchesRuntime(t, m, n, 3)
		checkGrads(t, n, 3, false)
	}
}

// TestGridSampleGridGradient: the grid's own gradient, the grid the input
// sampling a constant plane or volume, with reflection padding (locations up
// to two planes out: mirrored once or twice, the gradient turned back or not),
// with and without align_corners, and border and zeros padding alike.
func TestGridSampleGridGradient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []int
		vol   []int
		attrs []*graph.Attr
	}{
		{"plane reflection", []int{4, 4, 2}, []int{3, 2, 5, 5}, []*graph.Attr{strAttr("padding_mode", "reflection")}},
		{"plane reflection align_corners", []int{4, 4, 2}, []int{3, 2, 5, 5}, []*graph.Attr{strAttr("padding_mode", "reflection"), intAttr("align_corners", 1)}},
		{"plane zeros", []int{4, 4, 2}, []int{3, 2, 5, 5}, nil},
		{"volume reflection", []int{2, 3, 3, 3}, []int{3, 2, 5, 5, 5}, []*graph.Attr{strAttr("mode", "linear"), strAttr("padding_mode", "reflection")}},
		{"volume reflection align_corners", []int{2, 3, 3, 3}, []int{3, 2, 5, 5, 5}, []*graph.Attr{strAttr("mode", "linear"), strAttr("padding_mode", "reflection"), intAttr("align_corners", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			// checkGrads' inputs are 0.025 + 0.05·m: grid coordinates 2× those, odd
			// multiples of 0.05 out to ±5-8 (mirrored once and twice), 0.05 from
			// every pixel boundary and mirror of 5-pixel axes (even multiples),
			// farther than the finite differences' ±0.02
			m := tinyModel{tc.in, []*graph.Node{
				node("Mul", []string{"x", "k"}, "grid"),
				node("GridSample", []string{"vol", "grid"}, "g", tc.attrs...),
				node("Mul", []string{"g", "g"}, "y")},
				map[string]*graph.Tensor{"k": graph.ScalarFloat32(2), "vol": randTensor(rng, 1, tc.vol...)}}.model()
			m.Opsets[""] = 20
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
		})
	}
}
