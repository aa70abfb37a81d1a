package zoo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Options tune the builders.
type Options struct {
	// Seed selects the random weights (0 means 1).
	Seed uint64
	// Batch fixes the batch dimension; 0 leaves it symbolic ("N").
	Batch int
	// ExplicitBN keeps BatchNormalization nodes after convolutions instead of folding
	// them into the convolution bias.
	ExplicitBN bool
	// ShapeOnly builds weights with their shapes but no data: enough for shape
	// inference, MAC and parameter counts and timing-only simulation
	// (npu.Config.AssumeInt8) of the large models in milliseconds and without
	// gigabytes of random numbers. Such a model cannot be run or quantized.
	ShapeOnly bool
}

type entry struct {
	build func(Options) *graph.Model
	doc   string
}

var registry = map[string]entry{
	"resnet50":     {ResNet50, "ResNet-50 v1.5 (torchvision / MLPerf), 224x224, 1000 classes"},
	"mobilenet_v1": {MobileNetV1, "MobileNet v1 1.0 as the TFLite QAT model: explicit Pad before stride-2 depthwise convs, ReLU6, 1001 classes"},
	"ssd_resnet34": {SSDResNet34, "SSD-ResNet34 (MLPerf SSD-large), 1200x1200, 81 classes, six feature maps 50..3"},
	"tiny_cnn":     {TinyCNN, "a small CNN (2 convs, pooling, residual add, fc) at 32x32 for fast tests"},
}

func init() {
	for _, size := range []string{"n", "s", "m", "l", "x"} {
		size := size
		registry["yolov5"+size] = entry{func(o Options) *graph.Model { return YOLOv5(size, false, 0, o) },
			fmt.Sprintf("YOLOv5%s v6.x at 640x640 (depth %.2f, width %.2f), raw outputs of the 3 Detect convs", size, yoloScales[size].depth, yoloScales[size].width)}
		registry["yolov5"+size+"6"] = entry{func(o Options) *graph.Model { return YOLOv5(size, true, 0, o) },
			fmt.Sprintf("YOLOv5%s6 v6.x (P6, stride-64 stage) at 1280x1280, raw outputs of the 4 Detect convs", size)}
	}
}

// Names lists the zoo's models.
func Names() []string {
	var out []string
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Describe returns a one-line description of a zoo model.
func Describe(name string) string { return registry[name].doc }

// Build builds a zoo model by name ("resnet50", or "zoo:resnet50").
func Build(name string, opts Options) (*graph.Model, error) {
	name = strings.TrimPrefix(name, "zoo:")
	e, ok := registry[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("zoo: no model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return e.build(opts), nil
}

// ResNet50 builds ResNet-50 v1.5: the stride of each downsampling bottleneck is on its
// 3x3 convolution (as in torchvision and MLPerf), BatchNorm folded unless
// opts.ExplicitBN. Input "input" [N,3,224,224], output "logits" [N,1000].
func ResNet50(opts Options) *graph.Model {
	b := newBuilder("resnet50_v1.5", opts)
	x := b.input("input", 3, 224, 224)
	x = b.conv(x, convSpec{out: 64, k: 7, stride: 2, pads: same(7), bn: true, act: "relu"})
	x = b.maxPool(x, 3, 2, 1)
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for i := 0; i < blocks; i++ {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			shortcut := x
			if i == 0 {
				shortcut = b.conv(x, convSpec{out: width * 4, k: 1, stride: stride, bn: true, prefix: "downsample"})
			}
			y := b.conv(x, convSpec{out: width, k: 1, bn: true, act: "relu"})
			y = b.conv(y, convSpec{out: width, k: 3, stride: stride, pads: same(3), bn: true, act: "relu"})
			y = b.conv(y, convSpec{out: width * 4, k: 1, bn: true})
			x = b.act(b.add(y, shortcut), "relu")
		}
	}
	x = b.globalAvgPool(x)
	x = b.flatten(x)
	b.gemm(x, 1000, "logits")
	b.output("logits", 1000)
	return b.model()
}

// MobileNetV1 builds MobileNet v1 1.0/224 the way the TFLite QAT model is laid out
// (the model of FuriosaAI's profiler example): TensorFlow SAME padding, which is
// asymmetric for the stride-2 stem, an explicit Pad before each stride-2 depthwise
// convolution, ReLU6, a 7x7 average pool and a 1x1 convolution classifier with 1001
// classes followed by Reshape and Softmax. Input "input" [N,3,224,224], output
// "probs" [N,1001].
func MobileNetV1(opts Options) *graph.Model {
	b := newBuilder("mobilenet_v1_1.0_224", opts)
	x := b.input("input", 3, 224, 224)
	x = b.conv(x, convSpec{out: 32, k: 3, stride: 2, pads: [4]int{0, 0, 1, 1}, bn: true, act: "relu6"})
	for _, l := range []struct{ stride, out int }{
		{1, 64}, {2, 128}, {1, 128}, {2, 256}, {1, 256}, {2, 512},
		{1, 512}, {1, 512}, {1, 512}, {1, 512}, {1, 512}, {2, 1024}, {1, 1024},
	} {
		c := b.shapes[x][0]
		if l.stride == 2 {
			x = b.pad(x, [4]int{0, 0, 1, 1})
			x = b.conv(x, convSpec{out: c, k: 3, stride: 2, group: c, bn: true, act: "relu6", prefix: "dwconv"})
		} else {
			x = b.conv(x, convSpec{out: c, k: 3, stride: 1, pads: same(3), group: c, bn: true, act: "relu6", prefix: "dwconv"})
		}
		x = b.conv(x, convSpec{out: l.out, k: 1, bn: true, act: "relu6", prefix: "pwconv"})
	}
	x = b.avgPool(x, 7)
	x = b.conv(x, convSpec{out: 1001, k: 1, bias: true, prefix: "logits"})
	x = b.reshape(x, "", 1001)
	n := b.node("Softmax", "softmax", []string{x}, "probs")
	n.SetAttrInt("axis", 1)
	b.output("probs", 1001)
	return b.model()
}

// SSDResNet34 builds the SSD-ResNet34 detector of MLPerf's SSD-large benchmark at
// 1200x1200: a ResNet-34 backbone up to its third stage (the third stage strided by 3
// so the first feature map is 50x50), five extra blocks (1x1 then 3x3 convolutions)
// giving feature maps of 25, 13, 7, 3 and 3, and a 3x3 location head (4 anchors x 4
// coordinates) and class head (anchors x 81) on each of the six maps. The twelve head
// outputs are the graph outputs, as in FuriosaAI's MLPerf harness, which un-lowers
// and decodes them on the host. Input "image" [N,3,1200,1200].
func SSDResNet34(opts Options) *graph.Model {
	b := newBuilder("ssd_resnet34_1200", opts)
	x := b.input("image", 3, 1200, 1200)
	x = b.conv(x, convSpec{out: 64, k: 7, stride: 2, pads: same(7), bn: true, act: "relu"})
	x = b.maxPool(x, 3, 2, 1)
	basic := func(x string, out, stride int) string {
		shortcut := x
		if stride != 1 || b.shapes[x][0] != out {
			shortcut = b.conv(x, convSpec{out: out, k: 1, stride: stride, bn: true, prefix: "downsample"})
		}
		y := b.conv(x, convSpec{out: out, k: 3, stride: stride, pads: same(3), bn: true, act: "relu"})
		y = b.conv(y, convSpec{out: out, k: 3, pads: same(3), bn: true})
		return b.act(b.add(y, shortcut), "relu")
	}
	for i := 0; i < 3; i++ {
		x = basic(x, 64, 1)
	}
	for i := 0; i < 4; i++ {
		s := 1
		if i == 0 {
			s = 2
		}
		x = basic(x, 128, s)
	}
	for i := 0; i < 6; i++ {
		s := 1
		if i == 0 {
			s = 3
		}
		x = basic(x, 256, s)
	}
	feats := []string{x}
	for _, e := range []struct{ mid, out, stride, pad int }{
		{256, 512, 2, 1}, {256, 512, 2, 1}, {128, 256, 2, 1}, {128, 256, 2, 0}, {128, 256, 1, 1},
	} {
		y := b.conv(x, convSpec{out: e.mid, k: 1, bias: true, act: "relu", prefix: "extra"})
		x = b.conv(y, convSpec{out: e.out, k: 3, stride: e.stride, pads: [4]int{e.pad, e.pad, e.pad, e.pad}, bias: true, act: "relu", prefix: "extra"})
		feats = append(feats, x)
	}
	anchors := []int{4, 6, 6, 6, 4, 4}
	for i, f := range feats {
		s := b.shapes[f]
		loc := b.conv(f, convSpec{out: anchors[i] * 4, k: 3, pads: same(3), bias: true, prefix: "loc"})
		conf := b.conv(f, convSpec{out: anchors[i] * 81, k: 3, pads: same(3), bias: true, prefix: "conf"})
		locName, confName := fmt.Sprintf("loc%d", i), fmt.Sprintf("conf%d", i)
		b.node("Identity", locName, []string{loc}, locName)
		b.node("Identity", confName, []string{conf}, confName)
		b.output(locName, anchors[i]*4, s[1], s[2])
		b.output(confName, anchors[i]*81, s[1], s[2])
	}
	return b.model()
}

// TinyCNN is a small network with every common pattern (conv + relu, a residual add,
// max and global average pooling, flatten, fully connected), input [N,3,32,32] and
// output "logits" [N,10]; it keeps unit tests fast.
func TinyCNN(opts Options) *graph.Model {
	b := newBuilder("tiny_cnn", opts)
	x := b.input("input", 3, 32, 32)
	x = b.conv(x, convSpec{out: 16, k: 3, pads: same(3), bn: true, act: "relu"})
	x = b.maxPool(x, 2, 2, 0)
	y := b.conv(x, convSpec{out: 16, k: 3, pads: same(3), bn: true, act: "relu"})
	y = b.conv(y, convSpec{out: 16, k: 3, pads: same(3), bn: true})
	x = b.act(b.add(y, x), "relu")
	x = b.conv(x, convSpec{out: 32, k: 3, stride: 2, pads: same(3), bn: true, act: "relu"})
	x = b.globalAvgPool(x)
	x = b.flatten(x)
	b.gemm(x, 10, "logits")
	b.output("logits", 10)
	return b.model()
}
