package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/qat"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

func init() {
	register(&command{name: "qat", summary: "quantization-aware training: fine-tune a float32 model for int8 and write it as int8 (QDQ ONNX)", run: qatCmd})
}

type qatReport struct {
	Model         string           `json:"model"`
	Output        string           `json:"output"`
	Data          string           `json:"data"`
	TrainImages   int              `json:"train_images"`
	Method        string           `json:"calibration_method"`
	CalibSamples  int              `json:"calibration_samples"`
	Epochs        int              `json:"epochs"`
	Batch         int              `json:"batch"`
	LR            float64          `json:"lr"`
	Optimizer     string           `json:"optimizer"`
	FreezeBNAfter int              `json:"freeze_bn_after"`
	Ranges        string           `json:"ranges"`
	Seed          int64            `json:"seed"`
	Threads       int              `json:"threads"`
	EpochLog      []qat.EpochStats `json:"epoch_log"`
	EvalData      string           `json:"eval_data"`
	EvalImages    int              `json:"eval_images"`
	PTQAccuracy   *float64         `json:"ptq_int8_accuracy"`
	QATAccuracy   *float64         `json:"qat_int8_accuracy"`
	TotalSec      float64          `json:"total_seconds"`
	Bytes         int              `json:"bytes"`
}

// datasetSamples adapts a labelled image data set to qat.Data.
type datasetSamples struct {
	ds *dataset.Dataset
	n  int
}

func (d datasetSamples) Len() int { return d.n }

func (d datasetSamples) Sample(i int, dst []float32) int {
	sz := d.ds.ImageSize()
	scale := d.ds.Scale
	if scale == 0 {
		scale = 1.0 / 255
	}
	for j, p := range d.ds.Pixels[i*sz : (i+1)*sz] {
		dst[j] = float32(p)*scale + d.ds.Offset
	}
	return d.ds.Labels[i]
}

func qatCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("qat", "MODEL -o OUT.onnx --data DIR [--epochs N] [--lr F] [--batch B] [--method M] [--freeze-bn-after K] "+
		"[--optimizer sgd|adamw] [--ranges ema|fixed] [--seed S] [--n N] [--eval-n N] [--json]", stderr)
	out := fs.String("o", "", "output ONNX file (required; written only if everything succeeds)")
	data := fs.String("data", projectPath(defaultData), "training data directory (IDX files, or images with labels.txt)")
	split := fs.String("split", "train", "IDX split (file prefix) to train on")
	n := fs.Int("n", 0, "train on the first N images (0 = all)")
	epochs := fs.Int("epochs", 1, "epochs")
	lr := fs.Float64("lr", 0, "peak learning rate (default 0.01 for sgd, 1e-4 for adamw), cosine decay to 0")
	batch := fs.Int("batch", 64, "training batch size")
	optName := fs.String("optimizer", "sgd", "sgd (momentum 0.9) or adamw")
	wd := fs.Float64("weight-decay", 0, "weight decay (default 0 for sgd, 0.01 for adamw)")
	schedule := fs.String("schedule", "cosine", "learning-rate schedule: cosine or constant")
	methodName := fs.String("method", defaultMethod, "calibration method that initialises the activation ranges: "+strings.Join(quantizer.MethodNames(), ", "))
	calibN := fs.Int("calib-n", 1000, "number of training images for the initial calibration")
	freeze := fs.Int("freeze-bn-after", -1, "freeze Conv+BatchNorm statistics after K epochs (0 = from the start, -1 = never)")
	rangesMode := fs.String("ranges", "ema", "activation ranges during training: ema (moving min/max) or fixed (calibrated)")
	seed := fs.Int64("seed", 0, "seed of the data shuffle")
	evalData := fs.String("eval-data", "", "labelled data to report int8 accuracy before and after training (default: --data)")
	evalSplit := fs.String("eval-split", "t10k", "IDX split of the evaluation data")
	evalN := fs.Int("eval-n", 0, "evaluate on the first N images (0 = all; -1 = no evaluation)")
	exclude := fs.String("exclude", "", "comma-separated node names to keep in float32")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("qat takes one MODEL")
	}
	if *out == "" {
		return usageErr("-o OUT.onnx is required")
	}
	if *epochs <= 0 || *batch <= 0 || *n < 0 || *calibN <= 0 || *lr < 0 || *freeze < -1 {
		return usageErr("--epochs, --batch and --calib-n must be > 0; --n and --lr >= 0; --freeze-bn-after >= -1")
	}
	method, err := quantizer.ParseMethod(*methodName)
	if err != nil {
		return usageErr("%v", err)
	}
	if _, err := (qat.Options{Optimizer: *optName, Schedule: *schedule, Ranges: *rangesMode}).WithDefaults(); err != nil {
		return usageErr("%v", err)
	}
	var excluded []string
	for _, e := range strings.Split(*exclude, ",") {
		if e = strings.TrimSpace(e); e != "" {
			excluded = append(excluded, e)
		}
	}
	start := time.Now()
	m, err := loadModel(pos[0])
	if err != nil {
		return err
	}
	if err := quantizer.CheckFloat(m); err != nil {
		return alreadyQuantized(pos[0], err)
	}
	net, err := qat.New(m, qat.Config{Exclude: excluded, Threads: *threads})
	if err != nil {
		return err
	}
	ds, err := dataset.Load(*data, *split)
	if err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	if ds.Labels == nil {
		return fmt.Errorf("training data %s has no labels", ds.Name)
	}
	if _, err := dataset.NewFeed(ds, net.Plan().Model.Graph.Inputs, 0); err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	trainN := ds.N
	if *n > 0 && *n < trainN {
		trainN = *n
	}
	warn := func(s string) { fmt.Fprintln(stderr, "warning:", s) }
	cal, _, err := calibratorFromDir(m, method, calibSource{path: *data, split: *split}, min(*calibN, trainN), 100, quantizer.DefaultPercentile, *threads, excluded, stderr, warn)
	if err != nil {
		return err
	}
	ranges, crep, err := cal.ComputeRangesFor(method)
	if err != nil {
		return err
	}
	if err := net.SetRanges(ranges); err != nil {
		return err
	}
	rep := &qatReport{Model: pos[0], Output: *out, Data: ds.Name, TrainImages: trainN, Method: method.String(),
		CalibSamples: crep.Samples, Epochs: *epochs, Batch: *batch, Optimizer: *optName, FreezeBNAfter: *freeze,
		Ranges: *rangesMode, Seed: *seed, Threads: *threads}

	var evalDS *dataset.Dataset
	if *evalN >= 0 {
		dir := *evalData
		if dir == "" {
			dir = *data
		}
		if evalDS, err = dataset.Load(dir, *evalSplit); err != nil {
			return fmt.Errorf("evaluation data: %w", err)
		}
		rep.EvalData = evalDS.Name
		ptq, err := quantizer.Quantize(m, ranges, quantizer.QuantOptions{Exclude: excluded})
		if err != nil {
			return err
		}
		res, err := evalInt8(ptq, evalDS, *evalN, *threads, stderr, "eval PTQ")
		if err != nil {
			return err
		}
		rep.EvalImages = res.Images
		rep.PTQAccuracy = &res.Accuracy
		if !*asJSON {
			fmt.Fprintf(stdout, "post-training int8 (%s, %d calibration images): %.2f %% on %d images of %s\n",
				method, crep.Samples, 100*res.Accuracy, res.Images, evalDS.Name)
		}
	}

	var bar *progress.Bar
	opts := qat.Options{Epochs: *epochs, Batch: *batch, LR: *lr, Optimizer: *optName, WeightDecay: *wd, Schedule: *schedule,
		FreezeBNAfter: *freeze, Ranges: *rangesMode, Seed: *seed,
		Progress: func(ep, done, total int, loss, acc float64) {
			if bar == nil {
				bar = progress.New(stderr, fmt.Sprintf("epoch %d/%d", ep, *epochs), total)
			}
			bar.Set(done)
		},
		EpochEnd: func(s qat.EpochStats) {
			if bar != nil {
				bar.Done()
				bar = nil
			}
			if !*asJSON {
				fmt.Fprintf(stdout, "epoch %d/%d: loss %.4f  train accuracy (fake-quant) %.2f %%  %.1f s\n", s.Epoch, *epochs, s.Loss, 100*s.Accuracy, s.Seconds)
			}
		}}
	if opts, err = opts.WithDefaults(); err != nil {
		return usageErr("%v", err)
	}
	rep.LR = opts.LR
	stats, err := net.Fit(datasetSamples{ds: ds, n: trainN}, opts)
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		return err
	}
	rep.EpochLog = stats
	q, err := net.Export(quantizer.QuantOptions{CalibMethod: "QAT (" + method.String() + " init)", CalibSamples: crep.Samples})
	if err != nil {
		return err
	}
	if evalDS != nil {
		res, err := evalInt8(q, evalDS, *evalN, *threads, stderr, "eval QAT")
		if err != nil {
			return err
		}
		rep.QATAccuracy = &res.Accuracy
		if !*asJSON {
			fmt.Fprintf(stdout, "quantization-aware trained int8: %.2f %% on %d images of %s\n", 100*res.Accuracy, res.Images, evalDS.Name)
		}
	}
	enc, err := q.Encode()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, enc); err != nil {
		return err
	}
	rep.Bytes = len(enc)
	rep.TotalSec = time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes) in %.1f s\n", *out, len(enc), rep.TotalSec)
	return nil
}

// evalInt8 scores a quantized model on the int8 runtime.
func evalInt8(q *graph.Model, ds *dataset.Dataset, n, threads int, stderr io.Writer, label string) (*bench.EvalResult, error) {
	sess, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(threads))
	if err != nil {
		return nil, err
	}
	total := ds.N
	if n > 0 && n < total {
		total = n
	}
	bar := progress.New(stderr, label, total)
	res, err := bench.Evaluate(sess, ds, bench.EvalOptions{N: n, Batch: 100, Progress: bar.Callback()})
	bar.Done()
	if err != nil {
		return nil, err
	}
	if res.Images == 0 {
		return nil, errors.New("evaluation data is empty")
	}
	return res, nil
}
