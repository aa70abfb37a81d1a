package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
)

func init() {
	register(&command{name: "bench", summary: "accuracy + Warboy + CPU report per calibration method (also: bench kernels, bench cpu)", run: benchCmd})
}

func benchCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "kernels":
			return benchKernelsCmd(args[1:], stdout, stderr)
		case "cpu":
			return benchCPUCommand(args[1:], stdout, stderr)
		}
	}
	return benchReportCmd(args, stdout, stderr)
}

func benchReportCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "[MODEL] [--data DIR] [--methods all|M1,M2] [--calib-n N] [--mode fused|single|2pe] [--format md|csv|json] [--json] [-o FILE]\n       warboy bench kernels [--json]\n       warboy bench cpu MODEL [--batch N] [--threads T] [--iterations N] [--json]", stderr)
	data := fs.String("data", projectPath(defaultData), "labelled evaluation data: IDX files (t10k-* to evaluate, train-* to calibrate), or "+dataHelp)
	calibData := fs.String("calib-data", "", "calibration data (default: --data; its train split when there is one)")
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	methods := fs.String("methods", "all", "calibration methods: all, or a comma-separated list such as MIN_MAX_ASYM,ENTROPY_SYM")
	calibN := fs.Int("calib-n", 1000, "calibration images")
	evalN := fs.Int("n", 0, "evaluation images (0 = all)")
	compareN := fs.Int("compare-n", 200, "images for the per-layer error report")
	modeStr := fs.String("mode", "fused", "Warboy mode whose throughput is reported: fused, single or 2pe")
	format := fs.String("format", "md", "report format: md, csv or json")
	out := fs.String("o", "", "also write the report to this file")
	percentile := fs.Float64("percentile", quantizer.DefaultPercentile, "percentage kept by the PERCENTILE methods")
	threads := fs.Int("threads", 0, "CPU threads (0 = all cores)")
	iters := fs.Int("iterations", 50, "timed CPU runs per model")
	aliasFlag(fs, "cpu-iterations", "iterations")
	asJSON := fs.Bool("json", false, "print the report as JSON (the same as --format json)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErr("bench takes at most one MODEL")
	}
	path := projectPath(defaultModel)
	if len(pos) == 1 {
		path = pos[0]
	}
	ms, err := parseMethods(*methods)
	if err != nil {
		return err
	}
	mode, err := npu.ParseMode(*modeStr)
	if err != nil {
		return usageErr("%v", err)
	}
	*format = strings.ToLower(*format)
	if *asJSON {
		if setFlags(fs)["format"] && *format != "json" {
			return usageErr("--json and --format %s disagree", *format)
		}
		*format = "json"
	}
	if *format != "md" && *format != "csv" && *format != "json" {
		return usageErr("unknown --format %q (md, csv, json)", *format)
	}
	if *calibN <= 0 {
		return usageErr("--calib-n must be positive")
	}
	if *out != "" {
		if err := atomicfile.CheckWritable(*out); err != nil {
			return err
		}
	}
	m, err := loadModel(path, stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	eval, err := openData(*data, "t10k", *preprocess, m, shapes, 0)
	if err != nil {
		return err
	}
	cdir := *calibData
	if cdir == "" {
		cdir = *data
		if eval.Kind != "idx" {
			// Only IDX data has a train split; other data calibrates on the images it
			// is scored on, which flatters the methods that clip.
			give := "give --calib-data for other images"
			if tr := filepath.Join(filepath.Dir(filepath.Clean(*data)), "train"); tr != filepath.Clean(*data) && dirExists(tr) {
				give = "give --calib-data " + tr
			}
			fmt.Fprintf(stderr, "warning: calibrating on the evaluation data %s (only IDX data has a train split): %s\n", eval.Name, give)
		}
	}
	calib, err := loadCalibSet(cdir, *preprocess, m, shapes)
	if err != nil {
		return err
	}
	var bar *progress.Bar
	stage := ""
	start := time.Now()
	rep, err := bench.Run(bench.ReportOptions{
		Model: m, Name: filepath.Base(path), Eval: eval, Calib: calib, Methods: ms,
		CalibN: *calibN, EvalN: *evalN, CompareN: *compareN, Mode: mode, Percentile: *percentile,
		CPUIterations: *iters, Threads: *threads, Shapes: shapesOrNil(shapes),
		Progress: func(s string, done, total int) {
			if s != stage {
				bar.Done()
				stage = s
				fmt.Fprintf(stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), s)
				bar = nil
				if s == "calibration" {
					bar = progress.New(stderr, "calibration", total)
				}
			}
			bar.Set(done)
		},
	})
	bar.Done()
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		switch *format {
		case "json":
			return rep.WriteJSON(w)
		case "csv":
			return rep.WriteCSV(w)
		}
		return rep.WriteMarkdown(w)
	}
	if err := write(stdout); err != nil {
		return err
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// loadCalibSet reads the train split of an IDX dir, or its t10k split when there is
// none, or any other data set as it is.
func loadCalibSet(dir, preprocess string, m *graph.Model, shapes inputShapes) (*dataset.Set, error) {
	ds, err := openData(dir, "train", preprocess, m, shapes, 0)
	if err == nil {
		return ds, nil
	}
	ds, err2 := openData(dir, "t10k", preprocess, m, shapes, 0)
	if err2 != nil {
		return nil, err
	}
	return ds, nil
}

func parseMethods(s string) ([]quantizer.Method, error) {
	if strings.EqualFold(strings.TrimSpace(s), "all") || s == "" {
		return quantizer.Methods(), nil
	}
	var out []quantizer.Method
	for _, part := range strings.Split(s, ",") {
		m, err := quantizer.ParseMethod(strings.TrimSpace(part))
		if err != nil {
			return nil, usageErr("%v", err)
		}
		out = append(out, m)
	}
	return out, nil
}

func benchKernelsCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench kernels", "[--threads 1,2] [--min-time 1s] [--quick] [--json]", stderr)
	threadsStr := fs.String("threads", "", "comma-separated thread counts (default 1 and all cores)")
	minTime := fs.Duration("min-time", time.Second, "measuring time per case")
	quick := fs.Bool("quick", false, "smoke run: every case briefly")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("bench kernels takes no arguments")
	}
	opts := bench.KernelBenchOptions{MinTime: *minTime, Quick: *quick}
	if *threadsStr != "" {
		for _, p := range strings.Split(*threadsStr, ",") {
			var t int
			if _, err := fmt.Sscan(strings.TrimSpace(p), &t); err != nil || t <= 0 {
				return usageErr("bad --threads %q", *threadsStr)
			}
			opts.Threads = append(opts.Threads, t)
		}
	}
	var prog io.Writer
	if !*asJSON {
		prog = stderr
	}
	res, err := bench.RunKernelBench(opts, prog)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"cpu": cpuName(), "gomaxprocs": runtime.GOMAXPROCS(0), "results": res})
	}
	rows := make([][]string, 0, len(res))
	for _, r := range res {
		rows = append(rows, []string{r.Name, r.DType, fmt.Sprint(r.Threads), r.Path, fmt.Sprintf("%.1f", r.GOPS), fmt.Sprintf("%.3f", r.Seconds*1e3)})
	}
	fmt.Fprintf(stdout, "CPU: %s, %d threads available\n\n", cpuName(), runtime.GOMAXPROCS(0))
	table(stdout, []string{"kernel", "dtype", "threads", "path", "GOPS", "ms/op"}, rows)
	return nil
}

// shapesOrNil is nil when no --input-shape was given (the data then binds shapes).
func shapesOrNil(s inputShapes) map[string][]int {
	if len(s) == 0 {
		return nil
	}
	return s
}
