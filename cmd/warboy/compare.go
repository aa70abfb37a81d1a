package main

import (
	"fmt"
	"io"
	"math"

	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/quantizer"
)

func init() {
	register(&command{name: "compare", summary: "per-layer error (SQNR, cosine) between a float32 model and its int8 version", run: compareCmd})
}

type compareReport struct {
	Float string `json:"float_model"`
	Int8  string `json:"int8_model"`
	Data  string `json:"data"`
	*quantizer.Comparison
}

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "FLOAT.onnx INT8.onnx [--data DIR] [--preprocess SPEC] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--split t10k] [--n 1000] [--top K] [--mode auto|float32|int8] [--detections auto|off|SPEC] [--det-iou 0.5] [--det-min-score S] [--json]", stderr)
	data := fs.String("data", projectPath(defaultData), "data (labels not needed): "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	split := fs.String("split", "t10k", "IDX split (file prefix)")
	n := fs.Int("n", 1000, "number of samples (0 = all)")
	batch := fs.Int("batch", 100, "batch size (a model with a static batch uses its own)")
	top := fs.Int("top", 10, "show the K worst tensors (0 = all)")
	modeStr := fs.String("mode", "auto", "how the int8 model runs: auto (int8 executor when possible), int8, float32 (simulated quantization)")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	asJSON := fs.Bool("json", false, "print JSON (every tensor)")
	detections := fs.String("detections", "auto", "compare detections by IoU and class: auto (torchvision-style boxes [N,4] / scores [N] / labels [N] outputs, recognised from their shapes and types), off, boxes=B,scores=S[,labels=L], or rows=OUTPUT:COLUMNS (e.g. rows=det:x1,y1,x2,y2,score,class for [1,N,6]; columns x1,y1,x2,y2 or cx,cy,w,h, score, class, batch, -)")
	detIoU := fs.Float64("det-iou", quantizer.DefaultDetectionIoU, "IoU at which a float32 and an int8 detection of the same class match")
	detMin := fs.Float64("det-min-score", 0, "leave out detections scoring below this, in both runs")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErr("compare takes FLOAT.onnx and INT8.onnx")
	}
	if *n < 0 || *batch <= 0 || *top < 0 {
		return usageErr("--n and --top must be >= 0 and --batch > 0")
	}
	mode, err := parseMode(*modeStr)
	if err != nil {
		return err
	}
	if _, _, err := quantizer.ParseDetectionSpec(*detections); err != nil {
		return usageErr("%v", err)
	}
	if !(*detIoU > 0 && *detIoU <= 1) {
		return usageErr("--det-iou must be in (0, 1]")
	}
	fm, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(fm.Graph); err != nil {
		return err
	}
	qm, err := loadModel(pos[1], stderr)
	if err != nil {
		return err
	}
	qm = poolQ.apply(qm, stderr)
	shapes = boundShapes(shapes, fm, qm)
	feed, err := openData(*data, *split, *preprocess, fm, shapes, *n)
	if err != nil {
		return err
	}
	if b := fixedBatch(qm); b > 0 {
		*batch = b // a model bound to one batch size (quantize --input-shape) runs that
		if r := feed.Len() % b; r != 0 && feed.Len() > b {
			feed = feed.Head(feed.Len() - r)
		}
	}
	total := feed.Len()
	bar := progress.New(stderr, "compare", total)
	res, err := quantizer.Compare(fm, qm, feed, total, quantizer.CompareOptions{
		Mode: mode, BatchSize: *batch, Threads: *threads, Progress: bar.Callback(),
		Detections: *detections, DetectionIoU: *detIoU, DetectionMinScore: *detMin})
	bar.Done()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, compareReport{Float: pos[0], Int8: pos[1], Data: feed.Name, Comparison: res})
	}
	shown := res.Layers
	if *top > 0 && *top < len(shown) {
		shown = shown[:*top]
	}
	rows := make([][]string, len(shown))
	for i, l := range shown {
		rows[i] = []string{fmt.Sprint(i + 1), l.Tensor, l.Op, fmtDB(l.SQNR), fmt.Sprintf("%.5f", l.Cosine), fmt.Sprintf("%.4g", l.MaxAbsErr)}
	}
	what := "quantized tensors"
	if qm.Metadata[quantizer.MetaFormat] == "dynamic" {
		what = "tensors of both models (dynamic quantization: activations are quantized inside the int8 operators)"
	}
	fmt.Fprintf(stdout, "%d %s, worst first (%d samples of %s; int8 model run as %s):\n\n", len(res.Layers), what, res.Samples, feed.Name, res.Mode)
	if len(res.Layers) > 0 {
		table(stdout, []string{"#", "tensor", "op", "SQNR dB", "cosine", "max |err|"}, rows)
	} else {
		fmt.Fprintln(stdout, "(no quantized activations to pair: a dynamically quantized model quantizes them at run time)")
	}
	fmt.Fprintln(stdout, "\nmodel outputs, float32 against int8:")
	orows := make([][]string, 0, len(res.Top1))
	for _, o := range res.Top1 {
		t1, t5 := "-", "-"
		if o.Classes > 0 {
			t1 = fmt.Sprintf("%.2f %%", 100*o.Agreement)
			if o.Classes > 5 {
				t5 = fmt.Sprintf("%.2f %%", 100*o.Top5)
			}
		}
		var shapes []string
		for _, s := range o.Shapes {
			shapes = append(shapes, graph.FormatDims(s))
		}
		row := []string{o.Output, strings.Join(shapes, " "), fmtDB(o.SQNR), fmt.Sprintf("%.5f", o.Cosine),
			fmt.Sprintf("%.4g", o.MaxAbsErr), fmt.Sprintf("%.4g", o.MeanAbsErr), t1, t5}
		if o.Values == 0 {
			// Every sample was left out (different shapes in the two runs): nothing measured.
			row[2], row[3], row[4], row[5] = "-", "-", "-", "-"
		}
		orows = append(orows, row)
	}
	table(stdout, []string{"output", "shape", "SQNR dB", "cosine", "max |err|", "mean |err|", "top-1 agree", "top-5 agree"}, orows)
	for _, o := range res.Top1 {
		if o.Classes > 0 {
			fmt.Fprintf(stdout, "\ntop-1 agreement on %s: %.2f %%", o.Output, 100*o.Agreement)
		}
		if o.ShapeMismatches > 0 {
			fmt.Fprintf(stdout, "\n%s: %d sample(s) gave different shapes in the two runs (a data-dependent size, e.g. the number of boxes kept); left out of its error measures",
				o.Output, o.ShapeMismatches)
		}
		if o.StepClasses > 0 {
			fmt.Fprintf(stdout, "\nper-step agreement on %s (arg-max over its last axis, %d classes, at every time step of every sample): %.2f %%",
				o.Output, o.StepClasses, 100*o.StepAgreement)
		}
	}
	fmt.Fprintln(stdout)
	printIndices(stdout, res)
	printDetections(stdout, res)
	return nil
}

// printIndices prints the agreement of the integer outputs and of the ArgMax/TopK
// indices inside the model.
func printIndices(w io.Writer, res *quantizer.Comparison) {
	if len(res.Indices) == 0 {
		return
	}
	rows := make([][]string, 0, len(res.Indices))
	for _, x := range res.Indices {
		where := "inside"
		if x.Output {
			where = "output"
		}
		overlap := "-"
		if x.K > 0 {
			overlap = fmt.Sprintf("%.2f %% (k=%d)", 100*x.SetOverlap, x.K)
		}
		equal := "-"
		if x.Values > 0 {
			equal = fmt.Sprintf("%.2f %%", 100*x.Equal)
		}
		rows = append(rows, []string{x.Tensor, x.Op, where, fmt.Sprint(x.Values), equal,
			fmt.Sprintf("%.2f %% of %d", 100*x.SamplesEqual, x.Samples), overlap})
	}
	fmt.Fprintln(w, "\nindex agreement (integer outputs, ArgMax/ArgMin/TopK indices), float32 against int8:")
	table(w, []string{"tensor", "op", "where", "values", "equal", "samples all equal", "top-k set overlap"}, rows)
}

func fmtDB(d quantizer.DB) string {
	if math.IsInf(float64(d), 1) {
		return "exact"
	}
	return fmt.Sprintf("%.2f", float64(d))
}

// boundShapes adds to the --input-shape bindings the shapes the int8 model fixes for
// inputs the float model leaves symbolic (quantize --input-shape writes the bound
// shapes), so that data for the pair is prepared as the int8 model takes it.
func boundShapes(given inputShapes, fm, qm *graph.Model) inputShapes {
	out := inputShapes{}
	for name, s := range given {
		out[name] = s
	}
	for _, in := range modelInputs(fm.Graph) {
		q := qm.Graph.Input(in.Name)
		if _, ok := out[in.Name]; ok || q == nil || !q.HasShape || (in.HasShape && allKnown(in.Shape)) {
			continue
		}
		if dims, ok := knownDims(q.Shape); ok {
			out[in.Name] = dims
		}
	}
	return out
}

func allKnown(s graph.Shape) bool {
	_, ok := knownDims(s)
	return ok
}

func knownDims(s graph.Shape) ([]int, bool) {
	dims := make([]int, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		dims[i] = d.Size
	}
	return dims, true
}

// fixedBatch is the leading dimension the model's inputs declare when it is concrete
// (0 when symbolic or when the inputs disagree).
func fixedBatch(m *graph.Model) int {
	b := 0
	for _, in := range modelInputs(m.Graph) {
		if !in.HasShape || len(in.Shape) == 0 || !in.Shape[0].Known() {
			return 0
		}
		if b != 0 && in.Shape[0].Size != b {
			return 0
		}
		b = in.Shape[0].Size
	}
	return b
}
