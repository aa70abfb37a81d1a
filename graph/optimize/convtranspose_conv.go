package optimize

// A ConvTranspose of stride 1 is a Conv: output o reads input o - k·d + p_begin
// through tap k, which a Conv reads through the flipped tap K-1-k when it pads by
// (K-1)·d - p_begin before and (K-1)·d - p_end + output_padding after. Decoders
// write such layers (a U-Net's last refinement, dilated "deconvolutions", torch's
// ConvTranspose with stride 1 and output_padding < dilation); the convolution
// kernels of both executors are far faster than the transposed ones there (the
// int8 ConvTranspose of --unseen6's deconv_outpad, 24 -> 16 channels at 96x96 with
// dilation 2, took 29 of the model's 36 ms), and the NPU runs Convs. The rewrite
// is exact: the same products summed per output, in another order.

import (
	"github.com/warboy-sim/warboy/graph"
)

// convTransposeToConv rewrites every ConvTranspose with a constant float32
// weight, all strides 1, explicit pads (auto_pad NOTSET, no output_shape) that
// leave the Conv's pads non-negative, into a Conv with the weight transposed per
// group ([C_in, C_out/g, k...] -> [C_out, C_in/g, k...]) and flipped along every
// spatial axis (a new initializer; the original may be shared). It returns the
// number of nodes rewritten.
func convTransposeToConv(g *graph.Graph) int {
	count := 0
	for _, n := range g.Nodes {
		if !isOp(n, "ConvTranspose") || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.HasSubgraphs() {
			continue
		}
		if a := n.AttrString("auto_pad", "NOTSET"); (a != "NOTSET" && a != "") || n.HasAttr("output_shape") {
			continue
		}
		w := g.Initializers[n.Inputs[1]]
		if w == nil || w.DType != graph.Float32 || len(w.Shape) < 3 {
			continue
		}
		sp := len(w.Shape) - 2
		kern := w.Shape[2:]
		if ks := n.AttrInts("kernel_shape", nil); ks != nil && !equalInts(ks, kern) {
			continue
		}
		strides := attrOr(n, "strides", sp, 1)
		dil := attrOr(n, "dilations", sp, 1)
		pads := attrOr(n, "pads", 2*sp, 0)
		outPad := attrOr(n, "output_padding", sp, 0)
		if strides == nil || dil == nil || pads == nil || outPad == nil {
			continue
		}
		convPads := make([]int64, 2*sp)
		ok := true
		for i := 0; i < sp; i++ {
			span := dil[i] * int64(kern[i]-1)
			convPads[i] = span - pads[i]
			convPads[sp+i] = span - pads[sp+i] + outPad[i]
			if strides[i] != 1 || dil[i] < 1 || convPads[i] < 0 || convPads[sp+i] < 0 {
				ok = false
			}
		}
		group := int(n.AttrInt("group", 1))
		if !ok || group < 1 || w.Shape[0]%group != 0 {
			continue
		}
		cw := flipTransposeWeight(w, group)
		name := uniqueName(g, n.Inputs[1]+"_as_conv")
		g.Initializers[name] = cw
		g.Values[name] = &graph.Value{Name: name, DType: graph.Float32, Shape: graph.ShapeOf(cw.Shape...), HasShape: true}
		n.OpType = "Conv"
		n.Inputs[1] = name
		delete(n.Attrs, "output_padding")
		n.SetAttrInts("pads", convPads)
		n.SetAttrInts("strides", strides)
		n.SetAttrInts("dilations", dil)
		n.SetAttrInts("kernel_shape", toInt64s(kern))
		count++
	}
	return count
}

// flipTransposeWeight turns a ConvTranspose weight [C_in, C_out/g, k...] of group
// g into the Conv weight [C_out, C_in/g, k...] reading the same taps flipped.
func flipTransposeWeight(w *graph.Tensor, group int) *graph.Tensor {
	cin, coutG := w.Shape[0], w.Shape[1]
	cinG := cin / group
	kern := w.Shape[2:]
	taps := 1
	for _, k := range kern {
		taps *= k
	}
	src := w.F32()
	out := make([]float32, len(src))
	for gi := 0; gi < group; gi++ {
		for ic := 0; ic < cinG; ic++ {
			for oc := 0; oc < coutG; oc++ {
				from := src[((gi*cinG+ic)*coutG+oc)*taps:][:taps]
				to := out[((gi*coutG+oc)*cinG+ic)*taps:][:taps]
				// Reversing the flattened taps flips every spatial axis at once.
				for t := 0; t < taps; t++ {
					to[taps-1-t] = from[t]
				}
			}
		}
	}
	shape := append([]int{group * coutG, cinG}, kern...)
	return graph.FromFloat32(shape, out)
}

func toInt64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
