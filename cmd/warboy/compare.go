package main

import (
	"fmt"
	"io"
	"math"

	"github.com/warboy-sim/warboy/bench/dataset"
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
	fs := newFlags("compare", "FLOAT.onnx INT8.onnx [--data DIR] [--split t10k] [--n 1000] [--top K] [--mode auto|float32|int8] [--json]", stderr)
	data := fs.String("data", projectPath(defaultData), "data directory (IDX files, or images with labels.txt)")
	split := fs.String("split", "t10k", "IDX split (file prefix)")
	n := fs.Int("n", 1000, "number of images (0 = all)")
	batch := fs.Int("batch", 100, "batch size (a model with a static batch uses its own)")
	top := fs.Int("top", 10, "show the K worst tensors (0 = all)")
	modeStr := fs.String("mode", "auto", "how the int8 model runs: auto (int8 executor when possible), int8, float32 (simulated quantization)")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	asJSON := fs.Bool("json", false, "print JSON (every tensor)")
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
	fm, err := loadModel(pos[0])
	if err != nil {
		return err
	}
	qm, err := loadModel(pos[1])
	if err != nil {
		return err
	}
	ds, err := dataset.Load(*data, *split)
	if err != nil {
		return err
	}
	if len(fm.Graph.Inputs) != 1 {
		return fmt.Errorf("%s has %d inputs; compare feeds one image input", pos[0], len(fm.Graph.Inputs))
	}
	feed, err := dataset.NewFeed(ds, fm.Graph.Inputs, *n)
	if err != nil {
		return err
	}
	total := feed.Len()
	bar := progress.New(stderr, "compare", total)
	res, err := quantizer.Compare(fm, qm, feed, total, quantizer.CompareOptions{
		Mode: mode, BatchSize: *batch, Threads: *threads, Progress: bar.Callback()})
	bar.Done()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, compareReport{Float: pos[0], Int8: pos[1], Data: ds.Name, Comparison: res})
	}
	shown := res.Layers
	if *top > 0 && *top < len(shown) {
		shown = shown[:*top]
	}
	rows := make([][]string, len(shown))
	for i, l := range shown {
		sq := "exact"
		if !math.IsInf(float64(l.SQNR), 1) {
			sq = fmt.Sprintf("%.2f", float64(l.SQNR))
		}
		rows[i] = []string{fmt.Sprint(i + 1), l.Tensor, l.Op, sq, fmt.Sprintf("%.5f", l.Cosine), fmt.Sprintf("%.4g", l.MaxAbsErr)}
	}
	fmt.Fprintf(stdout, "%d quantized tensors, worst first (%d images of %s; int8 model run as %s):\n\n", len(res.Layers), res.Samples, ds.Name, res.Mode)
	table(stdout, []string{"#", "tensor", "op", "SQNR dB", "cosine", "max |err|"}, rows)
	for _, o := range res.Top1 {
		fmt.Fprintf(stdout, "\ntop-1 agreement on %s: %.2f %%", o.Output, 100*o.Agreement)
	}
	fmt.Fprintln(stdout)
	return nil
}
