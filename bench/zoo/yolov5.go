package zoo

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// yoloScale is one of YOLOv5's model sizes: the depth multiple scales the number of
// bottlenecks in each C3 block, the width multiple the channel counts.
type yoloScale struct {
	depth, width float64
}

// yoloScales are the depth/width multiples of YOLOv5 v6.x (models/yolov5{n,s,m,l,x}.yaml).
var yoloScales = map[string]yoloScale{
	"n": {0.33, 0.25}, "s": {0.33, 0.50}, "m": {0.67, 0.75}, "l": {1.0, 1.0}, "x": {1.33, 1.25},
}

// yolo builds YOLOv5 layers on a builder with the model's multiples.
type yolo struct {
	*builder
	sc yoloScale
}

// ch is make_divisible(c x width, 8): ultralytics rounds scaled channels up to 8.
func (y *yolo) ch(c int) int { return int(math.Ceil(float64(c)*y.sc.width/8)) * 8 }

// depth is max(round(n x depth), 1).
func (y *yolo) depth(n int) int { return max(int(math.Round(float64(n)*y.sc.depth)), 1) }

// conv is YOLOv5's Conv: Conv2d (no bias, padding k/2 unless given) + BatchNorm +
// SiLU, exported by torch.onnx as Conv (BN folded) -> Sigmoid and Mul(x, sigmoid(x)).
func (y *yolo) conv(x string, out, k, stride int, pads ...int) string {
	p := same(k)
	if len(pads) == 1 {
		p = [4]int{pads[0], pads[0], pads[0], pads[0]}
	}
	c := y.builder.conv(x, convSpec{out: out, k: k, stride: stride, pads: p, bn: true})
	return y.silu(c)
}

// silu is x * sigmoid(x) as two ONNX nodes, the way torch.onnx exports nn.SiLU at
// opset <= 13: the convolution output has two consumers (Sigmoid and Mul).
func (y *yolo) silu(x string) string {
	s := y.name("sigmoid")
	y.node("Sigmoid", s, []string{x}, s+".out")
	y.shapes[s+".out"] = y.shapes[x]
	m := y.name("mul")
	y.node("Mul", m, []string{x, s + ".out"}, m+".out")
	y.shapes[m+".out"] = y.shapes[x]
	return m + ".out"
}

// bottleneck is cv2(cv1(x)) (+ x when shortcut): a 1x1 then a 3x3 Conv.
func (y *yolo) bottleneck(x string, c int, shortcut bool) string {
	h := y.conv(x, c, 1, 1)
	h = y.conv(h, c, 3, 1)
	if shortcut {
		return y.add(x, h)
	}
	return h
}

// c3 is CSP bottleneck with 3 convolutions: cv3(cat(m(cv1(x)), cv2(x))).
func (y *yolo) c3(x string, out, n int, shortcut bool) string {
	hidden := out / 2
	a := y.conv(x, hidden, 1, 1)
	for i := 0; i < n; i++ {
		a = y.bottleneck(a, hidden, shortcut)
	}
	b := y.conv(x, hidden, 1, 1)
	return y.conv(y.concat(a, b), out, 1, 1)
}

// sppf is cv2(cat(x, m(x), m(m(x)), m(m(m(x))))) with x = cv1(input) and m a 5x5
// stride-1 max pool.
func (y *yolo) sppf(x string, out int) string {
	hidden := y.shapes[x][0] / 2
	a := y.conv(x, hidden, 1, 1)
	p1 := y.maxPool(a, 5, 1, 2)
	p2 := y.maxPool(p1, 5, 1, 2)
	p3 := y.maxPool(p2, 5, 1, 2)
	return y.conv(y.concat(a, p1, p2, p3), out, 1, 1)
}

// upsample is nn.Upsample(scale_factor=2, mode='nearest') as exported at opset 13:
// Resize with empty roi and constant scales.
func (y *yolo) upsample(x string) string {
	in := y.shapes[x]
	n := y.name("resize")
	roi := y.init(n+".roi", []int{0}, []float32{})
	scales := y.init(n+".scales", []int{4}, []float32{1, 1, 2, 2})
	node := y.node("Resize", n, []string{x, roi, scales}, n+".out")
	node.SetAttrString("mode", "nearest")
	node.SetAttrString("coordinate_transformation_mode", "asymmetric")
	node.SetAttrString("nearest_mode", "floor")
	y.shapes[n+".out"] = [3]int{in[0], in[1] * 2, in[2] * 2}
	return n + ".out"
}

// concat joins feature maps on the channel axis.
func (y *yolo) concat(xs ...string) string {
	n := y.name("concat")
	c := 0
	for _, x := range xs {
		c += y.shapes[x][0]
	}
	y.node("Concat", n, xs, n+".out").SetAttrInt("axis", 1)
	s := y.shapes[xs[0]]
	y.shapes[n+".out"] = [3]int{c, s[1], s[2]}
	return n + ".out"
}

// YOLOv5 builds YOLOv5 v6.x (ultralytics models/yolov5{n,s,m,l,x}.yaml and the P6
// variants yolov5{n,s,m,l,x}6.yaml) at the given input size (0: 640, or 1280 for the
// P6 models), the way it is exported for Warboy: the network up to the Detect layer's
// 1x1 convolutions (3 anchors x 85 = 255 channels per scale), whose raw outputs
// "p3", "p4", "p5" (and "p6") are the graph outputs. Box decoding (sigmoid, grid and
// anchor arithmetic) and NMS run on the host and are not part of the graph.
func YOLOv5(size string, p6 bool, imgsz int, opts Options) *graph.Model {
	sc, ok := yoloScales[size]
	if !ok {
		panic("zoo: unknown YOLOv5 size " + size)
	}
	if imgsz == 0 {
		imgsz = 640
		if p6 {
			imgsz = 1280
		}
	}
	name := "yolov5" + size
	if p6 {
		name += "6"
	}
	y := &yolo{builder: newBuilder(name, opts), sc: sc}
	x := y.input("images", 3, imgsz, imgsz)
	// Backbone.
	x = y.conv(x, y.ch(64), 6, 2, 2) // P1/2
	x = y.conv(x, y.ch(128), 3, 2)   // P2/4
	x = y.c3(x, y.ch(128), y.depth(3), true)
	x = y.conv(x, y.ch(256), 3, 2) // P3/8
	p3 := y.c3(x, y.ch(256), y.depth(6), true)
	x = y.conv(p3, y.ch(512), 3, 2) // P4/16
	p4 := y.c3(x, y.ch(512), y.depth(9), true)
	top := 1024
	var p5 string
	if p6 {
		top = 768
	}
	x = y.conv(p4, y.ch(top), 3, 2) // P5/32
	x = y.c3(x, y.ch(top), y.depth(3), true)
	if p6 {
		p5 = x
		x = y.conv(x, y.ch(1024), 3, 2) // P6/64
		x = y.c3(x, y.ch(1024), y.depth(3), true)
	}
	x = y.sppf(x, y.ch(1024))
	// Top-down path (FPN): 1x1 lateral conv, nearest 2x upsampling, concat with the
	// backbone feature, C3 without shortcuts.
	laterals := []string{}
	skips := []string{p4, p3}
	widths := []int{512, 256}
	if p6 {
		skips = []string{p5, p4, p3}
		widths = []int{768, 512, 256}
	}
	for i, skip := range skips {
		x = y.conv(x, y.ch(widths[i]), 1, 1)
		laterals = append(laterals, x)
		x = y.concat(y.upsample(x), skip)
		x = y.c3(x, y.ch(widths[i]), y.depth(3), false)
	}
	outs := []string{x}
	// Bottom-up path (PAN): 3x3 stride-2 conv, concat with the lateral of the same
	// scale, C3.
	up := []int{512, 1024}
	down := []int{256, 512}
	if p6 {
		up = []int{512, 768, 1024}
		down = []int{256, 512, 768}
	}
	for i := range up {
		x = y.conv(x, y.ch(down[i]), 3, 2)
		x = y.concat(x, laterals[len(laterals)-1-i])
		x = y.c3(x, y.ch(up[i]), y.depth(3), false)
		outs = append(outs, x)
	}
	// Detect: one 1x1 conv per scale, 3 anchors x (80 classes + 5).
	for i, f := range outs {
		c := y.builder.conv(f, convSpec{out: 255, k: 1, bias: true, prefix: "detect"})
		out := fmt.Sprintf("p%d", i+3)
		y.node("Identity", out, []string{c}, out)
		s := y.shapes[c]
		y.output(out, 255, s[1], s[2])
	}
	return y.model()
}
