package main

import (
	"fmt"
	"io"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/runtime"
)

func init() {
	register(&command{name: "eval", summary: "top-1 accuracy and images/s of a model on a labelled data set", run: evalCmd})
}

type evalReport struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	*bench.EvalResult
}

func evalCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "MODEL [--data DIR] [--preprocess SPEC] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--split t10k] [--n N] [--batch B] [--mode auto|float32|int8] [--json]", stderr)
	data := fs.String("data", projectPath(defaultData), "labelled data: "+dataHelp+" (images need labels.txt or class folders)")
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	split := fs.String("split", "t10k", "IDX split (file prefix): t10k or train")
	n := fs.Int("n", 0, "evaluate the first N images (0 = all)")
	batch := fs.Int("batch", 100, "batch size (a model with a static batch uses its own)")
	modeStr := fs.String("mode", "auto", "execution: auto (int8 for quantized models), float32, int8")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErr("eval takes one MODEL")
	}
	path := projectPath(defaultModel)
	if len(pos) == 1 {
		path = pos[0]
	}
	if *n < 0 || *batch <= 0 {
		return usageErr("--n must be >= 0 and --batch > 0")
	}
	mode, err := parseMode(*modeStr)
	if err != nil {
		return err
	}
	m, err := loadModel(path, stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	m = poolQ.apply(m, stderr)
	ds, err := openData(*data, *split, *preprocess, m, shapes, *n)
	if err != nil {
		return err
	}
	sess, err := runtime.NewSession(m, runtime.WithMode(mode), runtime.WithThreads(*threads),
		runtime.WithWarnings(func(s string) { fmt.Fprintln(stderr, "warning:", s) }))
	if err != nil {
		return err
	}
	total := ds.Len()
	bar := progress.New(stderr, "eval", total)
	res, err := bench.EvaluateSet(sess, ds, bench.EvalOptions{N: *n, Batch: *batch, Progress: bar.Callback()})
	bar.Done()
	if err != nil {
		return err
	}
	rep := evalReport{Model: path, Data: ds.Name, EvalResult: res}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	classes := ""
	if ds.Classes != nil {
		classes = fmt.Sprintf(" in %d class folders (%s = 0 ... %s = %d)", len(ds.Classes), ds.Classes[0], ds.Classes[len(ds.Classes)-1], len(ds.Classes)-1)
	}
	fmt.Fprintf(stdout, "model:    %s (%s)\ndata:     %s, %d images%s\naccuracy: %.2f %% (%d / %d)\nspeed:    %.0f images/s (%.2f s, batch %d)\n",
		path, res.Mode, ds.Name, res.Images, classes, 100*res.Accuracy, res.Correct, res.Images, res.ImagesPerSecond, res.Seconds, *batch)
	return nil
}
