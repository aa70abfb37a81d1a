package optimize

// Converters from frameworks whose batch normalisation is not an ONNX
// BatchNormalization (tf2onnx's folded Keras BN, hand-written scale/shift
// layers, torch's frozen affine layers) write it as Mul and Add by per-channel
// constants after the Conv. Folded into the Conv's weight and bias (as ONNX
// Runtime's ConvMulFusion / ConvAddFusion do), the Conv is again followed by
// its activation, which the executors fuse into the convolution's store;
// otherwise each Mul and Add is a pass over the feature map. The result
// differs from the unfolded graph by float rounding only: (W·x + B)·s is
// computed as (W·s)·x + B·s. The same holds for a ConvTranspose, whose
// BatchNormalization decoders exported by Paddle's p2o or in training mode
// leave after it (ENet's and DBNet's upsampling, depthwise deconvolutions, pose
// heads; seventeenth session): each output is still a sum of products with its
// own channel's taps. A Div by per-channel constants folds too (eighteenth
// session): PyTorch's fused ConvBn QAT modules, exported before convert,
// write Conv → Div by the weight's scale factor → Add of the bias →
// BatchNormalization; with the fake-quantized weight folded to a constant
// (Options.FoldQDQ) the float executor runs that as one Conv.

import (
	"github.com/warboy-sim/warboy/graph"
)

// foldConvAffine folds into each float32 Conv or ConvTranspose with constant weight (and bias)
// the chain of Mul, Add and Sub by constants of one value per output channel
// (or one value), and of inference BatchNormalizations with constant
// parameters (batchNormAffine), that alone reads its output. The new weight and bias are new
// initializers (the old ones may be shared). It returns the number of nodes
// folded away.
func foldConvAffine(g *graph.Graph, keep map[string]bool) int {
	cons := g.Consumers()
	removed := map[*graph.Node]bool{}
	count := 0
	for _, n := range g.Nodes {
		if removed[n] || !(isOp(n, "Conv") || isOp(n, "ConvTranspose")) || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.HasSubgraphs() {
			continue
		}
		w := g.Initializers[n.Inputs[1]]
		if w == nil || w.DType != graph.Float32 || len(w.Shape) < 3 {
			continue
		}
		m := outputChannels(n, w)
		if m <= 0 {
			continue
		}
		var b *graph.Tensor
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			if b = g.Initializers[n.Inputs[2]]; b == nil || b.DType != graph.Float32 || len(b.F32()) != m {
				continue
			}
		}
		rank := len(w.Shape)
		var scale, shift []float32 // per output channel: y·scale + shift, composed
		out := n.Outputs[0]
		var folded []*graph.Node
		var mids []string // the chain's intermediate values
		for {
			if keep[out] || g.IsGraphOutput(out) || len(cons[out]) != 1 {
				break
			}
			a := cons[out][0]
			if bs, bt := batchNormAffine(g, a, out, m, rank); bs != nil {
				if scale == nil {
					scale, shift = make([]float32, m), make([]float32, m)
					for i := range scale {
						scale[i] = 1
					}
				}
				for i := range scale {
					scale[i] *= bs[i]
					shift[i] = shift[i]*bs[i] + bt[i]
				}
				folded = append(folded, a)
				mids = append(mids, out)
				out = a.Outputs[0]
				continue
			}
			if len(a.Inputs) != 2 || len(a.Outputs) != 1 || a.Outputs[0] == "" ||
				!(isOp(a, "Mul") || isOp(a, "Add") || isOp(a, "Sub") || isOp(a, "Div")) {
				break
			}
			k := 0
			if a.Inputs[1] == out {
				k = 1
			}
			if a.Inputs[k] != out || a.Inputs[1-k] == out {
				break
			}
			if (isOp(a, "Sub") || isOp(a, "Div")) && k != 0 {
				break // c − y negates the convolution (not worth a case), c / y is not affine
			}
			c := perOutputChannel(g.Initializers[a.Inputs[1-k]], m, rank)
			if c == nil || isOp(a, "Div") && !nonZeroFinite(c) {
				break
			}
			if scale == nil {
				scale, shift = make([]float32, m), make([]float32, m)
				for i := range scale {
					scale[i] = 1
				}
			}
			for i := range scale {
				switch a.OpType {
				case "Mul":
					scale[i] *= c[i]
					shift[i] *= c[i]
				case "Add":
					shift[i] += c[i]
				case "Sub":
					shift[i] -= c[i]
				case "Div":
					scale[i] /= c[i]
					shift[i] /= c[i]
				}
			}
			folded = append(folded, a)
			mids = append(mids, out)
			out = a.Outputs[0]
		}
		if len(folded) == 0 {
			continue
		}
		nw := scaleOutputChannels(n, w, scale)
		nb := graph.FromFloat32([]int{m}, make([]float32, m))
		for o := range nb.F32() {
			v := float32(0)
			if b != nil {
				v = b.F32()[o]
			}
			nb.F32()[o] = v*scale[o] + shift[o]
		}
		wn := uniqueName(g, n.Inputs[1]+"_affine")
		g.Initializers[wn] = nw
		g.Values[wn] = &graph.Value{Name: wn, DType: graph.Float32, Shape: graph.ShapeOf(nw.Shape...), HasShape: true}
		bn := uniqueName(g, n.Outputs[0]+"_bias_affine")
		g.Initializers[bn] = nb
		g.Values[bn] = &graph.Value{Name: bn, DType: graph.Float32, Shape: graph.ShapeOf(m), HasShape: true}
		n.Inputs = []string{n.Inputs[0], wn, bn}
		n.Outputs[0] = out
		for _, v := range mids {
			delete(g.Values, v)
		}
		for _, a := range folded {
			removed[a] = true
		}
		count += len(folded)
	}
	if count > 0 {
		nodes := g.Nodes[:0]
		for _, n := range g.Nodes {
			if !removed[n] {
				nodes = append(nodes, n)
			}
		}
		g.Nodes = nodes
	}
	return count
}

// nonZeroFinite: every divisor of a folded Div is finite and not zero (y/0
// and y/Inf are not y·(1/c) for every y: 0/0, Inf/Inf).
func nonZeroFinite(c []float32) bool {
	for _, v := range c {
		if v == 0 || v-v != 0 {
			return false
		}
	}
	return true
}

// outputChannels returns the number of output channels of a Conv or
// ConvTranspose with weight w, 0 when the weight and the group attribute
// disagree. A Conv's weight is [M, C/group, k...]; a ConvTranspose's is
// [C, M/group, k...] (ONNX's layout, torch's too).
func outputChannels(n *graph.Node, w *graph.Tensor) int {
	if !isOp(n, "ConvTranspose") {
		return w.Shape[0]
	}
	grp := n.AttrInt("group", 1)
	if grp < 1 || w.Shape[0]%int(grp) != 0 {
		return 0
	}
	return int(grp) * w.Shape[1]
}

// scaleOutputChannels returns a copy of the weight w of n (a Conv or a
// ConvTranspose) with every output channel o's taps multiplied by scale[o].
// Folding y·s + t into the layer this way is exact up to rounding for both:
// each output is a sum of products with its own channel's taps. In a
// ConvTranspose's weight [C, M/group, k...], input channel c belongs to group
// c / (C/group), whose output channels are group·(M/group) + j.
func scaleOutputChannels(n *graph.Node, w *graph.Tensor, scale []float32) *graph.Tensor {
	nw := &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), w.Shape...), Data: make([]float32, w.Len())}
	wd, nwd := w.F32(), nw.F32()
	if !isOp(n, "ConvTranspose") {
		per := w.Len() / w.Shape[0]
		for o := range scale {
			for j := o * per; j < (o+1)*per; j++ {
				nwd[j] = wd[j] * scale[o]
			}
		}
		return nw
	}
	c, mg := w.Shape[0], w.Shape[1]
	taps := w.Len() / (c * mg)
	cg := c / (len(scale) / mg) // input channels per group
	for ci := 0; ci < c; ci++ {
		for j := 0; j < mg; j++ {
			s := scale[(ci/cg)*mg+j]
			at := (ci*mg + j) * taps
			for k := at; k < at+taps; k++ {
				nwd[k] = wd[k] * s
			}
		}
	}
	return nw
}

// batchNormAffine returns the per-channel y·scale + shift of an inference
// BatchNormalization a reading x (the output of a Conv with m channels, rank
// r) with constant parameters: scale = s / sqrt(var + eps), shift = b -
// mean·scale, computed in float64 and rounded once. Exporters other than
// torch.onnx's eval mode (Paddle's p2o, tf2onnx, a model exported in training
// mode) leave BatchNormalization after the Conv that ONNX Runtime folds
// (ConvBNFusion); unfolded, it was a pass over the feature map between the
// Conv and its activation (sixteenth session). Nil when a is not such a node.
func batchNormAffine(g *graph.Graph, a *graph.Node, x string, m, rank int) (scale, shift []float32) {
	// rank: the Conv's weight rank, the rank of its output (N, C, spatial...).
	if !isOp(a, "BatchNormalization") || len(a.Inputs) != 5 || a.Inputs[0] != x || len(a.Outputs) == 0 || a.Outputs[0] == "" ||
		a.AttrInt("training_mode", 0) != 0 || a.AttrInt("spatial", 1) != 1 || rank < 3 {
		return nil, nil
	}
	for _, o := range a.Outputs[1:] {
		if o != "" {
			// Before opset 14 the extra outputs (mean, var, saved mean and
			// var) make the node a training-mode one, read or not: it
			// normalises with the batch's statistics.
			return nil, nil
		}
	}
	for i := 1; i <= 4; i++ {
		t := g.Initializers[a.Inputs[i]]
		if a.Inputs[i] == x || t == nil || len(t.Shape) != 1 {
			return nil, nil
		}
	}
	sc, sh, ok := graph.BatchNormAffine(g, a)
	if !ok || len(sc) != m {
		return nil, nil
	}
	scale, shift = make([]float32, m), make([]float32, m)
	for c := range scale {
		scale[c], shift[c] = float32(sc[c]), float32(sh[c])
	}
	return scale, shift
}

// perOutputChannel returns the m per-channel values of a float32 constant
// that broadcasts against a rank-r Conv output [N, m, ...] along the channel
// axis only ([m, 1, 1], [1, m, 1, 1], one value, ...), nil otherwise.
func perOutputChannel(c *graph.Tensor, m, rank int) []float32 {
	if c == nil || c.DType != graph.Float32 || len(c.Shape) > rank {
		return nil
	}
	d := c.F32()
	if len(d) == 1 {
		out := make([]float32, m)
		for i := range out {
			out[i] = d[0]
		}
		return out
	}
	if len(d) != m {
		return nil
	}
	// The channel axis of the output is 1; c's axes align from the right.
	off := rank - len(c.Shape)
	for i, s := range c.Shape {
		if s != 1 && i+off != 1 {
			return nil
		}
	}
	return append([]float32(nil), d...)
}
