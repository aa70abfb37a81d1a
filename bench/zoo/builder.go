package zoo

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// builder assembles a float32 NCHW graph node by node, tracking each value's
// [C, H, W] so that layers can be stacked without repeating shapes.
type builder struct {
	g      *graph.Graph
	rng    *rng
	opts   Options
	shapes map[string][3]int
	count  map[string]int
}

// rng is xorshift64*: random weights for tens of millions of parameters must be
// cheap, and the models must be identical on every machine.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// uniform returns a float32 in [-a, a).
func (r *rng) uniform(a float32) float32 {
	return (float32(r.next()>>40)/float32(1<<24)*2 - 1) * a
}

func newBuilder(name string, opts Options) *builder {
	seed := opts.Seed
	if seed == 0 {
		seed = 1
	}
	return &builder{
		g:      &graph.Graph{Name: name, Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}},
		rng:    &rng{s: seed*0x9E3779B97F4A7C15 | 1},
		opts:   opts,
		shapes: map[string][3]int{},
		count:  map[string]int{},
	}
}

func (b *builder) name(prefix string) string {
	b.count[prefix]++
	return fmt.Sprintf("%s%d", prefix, b.count[prefix])
}

func (b *builder) batchDim() graph.Dim {
	if b.opts.Batch > 0 {
		return graph.Dim{Size: b.opts.Batch}
	}
	return graph.Dim{Size: -1, Param: "N"}
}

// input declares the image input [N, c, h, w].
func (b *builder) input(name string, c, h, w int) string {
	v := &graph.Value{Name: name, DType: graph.Float32, HasShape: true,
		Shape: graph.Shape{b.batchDim(), {Size: c}, {Size: h}, {Size: w}}}
	b.g.Inputs = append(b.g.Inputs, v)
	b.g.Values[name] = v
	b.shapes[name] = [3]int{c, h, w}
	return name
}

// output declares a graph output with the given trailing dimensions.
func (b *builder) output(name string, dims ...int) {
	s := graph.Shape{b.batchDim()}
	for _, d := range dims {
		s = append(s, graph.Dim{Size: d})
	}
	b.g.Outputs = append(b.g.Outputs, &graph.Value{Name: name, DType: graph.Float32, Shape: s, HasShape: true})
}

func (b *builder) init(name string, shape []int, data []float32) string {
	b.g.Initializers[name] = graph.FromFloat32(shape, data)
	return name
}

func (b *builder) initInt64(name string, data ...int64) string {
	b.g.Initializers[name] = graph.FromInt64([]int{len(data)}, data)
	return name
}

func (b *builder) random(n int, a float32) []float32 {
	if b.opts.ShapeOnly {
		return nil
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = b.rng.uniform(a)
	}
	return d
}

func (b *builder) node(op, name string, inputs []string, outputs ...string) *graph.Node {
	n := &graph.Node{Name: name, OpType: op, Inputs: inputs, Outputs: outputs, Attrs: map[string]*graph.Attr{}}
	b.g.Nodes = append(b.g.Nodes, n)
	return n
}

// convSpec describes one convolution.
type convSpec struct {
	out    int
	k      int
	stride int
	pads   [4]int // top, left, bottom, right
	group  int
	bias   bool
	bn     bool // followed by BatchNormalization (folded into the bias unless Options.ExplicitBN)
	act    string
	prefix string
}

// same returns symmetric padding k/2.
func same(k int) [4]int { p := k / 2; return [4]int{p, p, p, p} }

func (b *builder) conv(x string, s convSpec) string {
	in := b.shapes[x]
	c, h, w := in[0], in[1], in[2]
	g := max(s.group, 1)
	stride := max(s.stride, 1)
	prefix := s.prefix
	if prefix == "" {
		prefix = "conv"
	}
	name := b.name(prefix)
	fanIn := c / g * s.k * s.k
	// He-uniform weights keep activations in a sane range through deep stacks, which
	// matters for functional runs and calibration.
	wa := float32(math.Sqrt(6 / float64(fanIn)))
	wname := b.init(name+".weight", []int{s.out, c / g, s.k, s.k}, b.random(s.out*c/g*s.k*s.k, wa))
	inputs := []string{x, wname}
	foldBias := s.bn && !b.opts.ExplicitBN
	if s.bias || foldBias {
		inputs = append(inputs, b.init(name+".bias", []int{s.out}, b.random(s.out, 0.1)))
	}
	y := name + ".out"
	n := b.node("Conv", name, inputs, y)
	n.SetAttrInts("kernel_shape", []int64{int64(s.k), int64(s.k)})
	n.SetAttrInts("strides", []int64{int64(stride), int64(stride)})
	n.SetAttrInts("pads", []int64{int64(s.pads[0]), int64(s.pads[1]), int64(s.pads[2]), int64(s.pads[3])})
	if g > 1 {
		n.SetAttrInt("group", int64(g))
	}
	oh := (h+s.pads[0]+s.pads[2]-s.k)/stride + 1
	ow := (w+s.pads[1]+s.pads[3]-s.k)/stride + 1
	b.shapes[y] = [3]int{s.out, oh, ow}
	if s.bn && b.opts.ExplicitBN {
		y = b.batchNorm(y)
	}
	return b.act(y, s.act)
}

func (b *builder) batchNorm(x string) string {
	c := b.shapes[x][0]
	name := b.name("bn")
	ones := make([]float32, c)
	for i := range ones {
		ones[i] = 1 + b.rng.uniform(0.1)
	}
	vars := make([]float32, c)
	for i := range vars {
		vars[i] = 1 + b.rng.uniform(0.5)
	}
	in := []string{x,
		b.init(name+".scale", []int{c}, ones),
		b.init(name+".bias", []int{c}, b.random(c, 0.1)),
		b.init(name+".mean", []int{c}, b.random(c, 0.1)),
		b.init(name+".var", []int{c}, vars),
	}
	y := name + ".out"
	n := b.node("BatchNormalization", name, in, y)
	n.SetAttrFloat("epsilon", 1e-5)
	b.shapes[y] = b.shapes[x]
	return y
}

func (b *builder) act(x, kind string) string {
	switch kind {
	case "":
		return x
	case "relu":
		y := b.name("relu")
		b.node("Relu", y, []string{x}, y+".out")
		b.shapes[y+".out"] = b.shapes[x]
		return y + ".out"
	case "relu6":
		y := b.name("relu6")
		lo := b.init(y+".min", nil, []float32{0})
		hi := b.init(y+".max", nil, []float32{6})
		b.node("Clip", y, []string{x, lo, hi}, y+".out")
		b.shapes[y+".out"] = b.shapes[x]
		return y + ".out"
	}
	panic("zoo: unknown activation " + kind)
}

func (b *builder) add(x, y string) string {
	n := b.name("add")
	b.node("Add", n, []string{x, y}, n+".out")
	b.shapes[n+".out"] = b.shapes[x]
	return n + ".out"
}

func (b *builder) maxPool(x string, k, stride, pad int) string {
	in := b.shapes[x]
	n := b.name("maxpool")
	node := b.node("MaxPool", n, []string{x}, n+".out")
	node.SetAttrInts("kernel_shape", []int64{int64(k), int64(k)})
	node.SetAttrInts("strides", []int64{int64(stride), int64(stride)})
	node.SetAttrInts("pads", []int64{int64(pad), int64(pad), int64(pad), int64(pad)})
	b.shapes[n+".out"] = [3]int{in[0], (in[1]+2*pad-k)/stride + 1, (in[2]+2*pad-k)/stride + 1}
	return n + ".out"
}

func (b *builder) avgPool(x string, k int) string {
	in := b.shapes[x]
	n := b.name("avgpool")
	node := b.node("AveragePool", n, []string{x}, n+".out")
	node.SetAttrInts("kernel_shape", []int64{int64(k), int64(k)})
	node.SetAttrInts("strides", []int64{int64(k), int64(k)})
	b.shapes[n+".out"] = [3]int{in[0], in[1] / k, in[2] / k}
	return n + ".out"
}

func (b *builder) globalAvgPool(x string) string {
	in := b.shapes[x]
	n := b.name("gap")
	b.node("GlobalAveragePool", n, []string{x}, n+".out")
	b.shapes[n+".out"] = [3]int{in[0], 1, 1}
	return n + ".out"
}

// pad adds an explicit Pad node (top, left, bottom, right on H and W).
func (b *builder) pad(x string, p [4]int) string {
	in := b.shapes[x]
	n := b.name("pad")
	pads := b.initInt64(n+".pads", 0, 0, int64(p[0]), int64(p[1]), 0, 0, int64(p[2]), int64(p[3]))
	b.node("Pad", n, []string{x, pads}, n+".out")
	b.shapes[n+".out"] = [3]int{in[0], in[1] + p[0] + p[2], in[2] + p[1] + p[3]}
	return n + ".out"
}

func (b *builder) flatten(x string) string {
	n := b.name("flatten")
	b.node("Flatten", n, []string{x}, n+".out").SetAttrInt("axis", 1)
	in := b.shapes[x]
	b.shapes[n+".out"] = [3]int{in[0] * in[1] * in[2], 1, 1}
	return n + ".out"
}

// gemm is a fully connected layer on a flattened input [N, K].
func (b *builder) gemm(x string, out int, name string) string {
	k := b.shapes[x][0]
	n := b.name("fc")
	wa := float32(math.Sqrt(6 / float64(k)))
	w := b.init(n+".weight", []int{out, k}, b.random(out*k, wa))
	bias := b.init(n+".bias", []int{out}, b.random(out, 0.1))
	if name == "" {
		name = n + ".out"
	}
	b.node("Gemm", n, []string{x, w, bias}, name).SetAttrInt("transB", 1)
	b.shapes[name] = [3]int{out, 1, 1}
	return name
}

// reshape flattens [N, C, H, W] into [N, dims...] with a constant shape (batch kept
// with 0).
func (b *builder) reshape(x, out string, dims ...int64) string {
	n := b.name("reshape")
	shape := b.initInt64(n+".shape", append([]int64{0}, dims...)...)
	if out == "" {
		out = n + ".out"
	}
	b.node("Reshape", n, []string{x, shape}, out)
	return out
}

func (b *builder) model() *graph.Model {
	return &graph.Model{
		Graph:           b.g,
		IRVersion:       7,
		Opsets:          map[string]int64{"": 13},
		ProducerName:    "warboy-zoo",
		ProducerVersion: "1",
		Metadata:        map[string]string{"zoo.seed": fmt.Sprint(b.opts.Seed)},
	}
}
