package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
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
	Preprocess    string           `json:"preprocess"`
	SampleShape   []int            `json:"sample_shape"`
	SampleShapes  map[string][]int `json:"sample_shapes"`
	SampleGroups  int              `json:"sample_shape_groups"`
	InputShape    string           `json:"written_input_shape"`
	InputNote     string           `json:"written_input_note"`
	TrainImages   int              `json:"train_images"`
	Method        string           `json:"calibration_method"`
	CalibSamples  int              `json:"calibration_samples"`
	Epochs        int              `json:"epochs"`
	Batch         int              `json:"batch"`
	MicroBatch    int              `json:"micro_batch"`
	MicroBatchWhy string           `json:"micro_batch_note"`
	ModelRanges   int              `json:"model_ranges"`
	NoGradParams  []string         `json:"no_gradient_params"`
	NoGradThrough []string         `json:"no_gradient_through"`
	LR            float64          `json:"lr"`
	Optimizer     string           `json:"optimizer"`
	FreezeBNAfter float64          `json:"freeze_bn_after"`
	FreezeRanges  float64          `json:"freeze_ranges_after"`
	Warmup        float64          `json:"warmup"`
	Ranges        string           `json:"ranges"`
	RenormFolded  int              `json:"renorm_folded"`
	Average       float64          `json:"average"`
	Reestimate    int              `json:"reestimate_batches"`
	Loss          string           `json:"loss"`
	Distill       float64          `json:"distill"`
	Temperature   float64          `json:"temperature"`
	Smoothing     float64          `json:"label_smoothing"`
	Seed          int64            `json:"seed"`
	Threads       int              `json:"threads"`
	EpochLog      []qat.EpochStats `json:"epoch_log"`
	ValImages     int              `json:"val_images"`
	CheckSet      string           `json:"checkpoint_images"`
	StartMargin   float64          `json:"start_margin"`
	Checkpoints   []qatCheckpoint  `json:"checkpoints"`
	LRCandidates  []lrCandidate    `json:"lr_candidates,omitempty"`
	LRSelectSet   string           `json:"lr_selection_images,omitempty"`
	ChosenEpochs  *float64         `json:"chosen_checkpoint"`
	EvalData      string           `json:"eval_data"`
	EvalImages    int              `json:"eval_images"`
	PTQAccuracy   *float64         `json:"ptq_int8_accuracy"`
	QATAccuracy   *float64         `json:"qat_int8_accuracy"`
	PTQAgreement  *float64         `json:"ptq_top1_agreement"`
	QATAgreement  *float64         `json:"qat_top1_agreement"`
	PTQSQNR       *quantizer.DB    `json:"ptq_output_sqnr_db"`
	QATSQNR       *quantizer.DB    `json:"qat_output_sqnr_db"`
	TotalSec      float64          `json:"total_seconds"`
	Bytes         int              `json:"bytes"`
}

// setSamples adapts the first n samples of a data set to qat.Data (the label -1
// when the set has none: the label-free losses read none).
type setSamples struct {
	set   *dataset.Set
	n     int
	whole bool // trainShapes.whole: the shapes keep their first axis
}

func (d setSamples) Len() int { return d.n }

// Groups gives the samples' shapes, for a model trained at several (sequences of
// several lengths): the data set keeps samples of one shape together.
func (d setSamples) Groups() ([]int, [][][]int) {
	var ends []int
	var shapes [][][]int
	for start := 0; start < d.n; {
		end := min(d.set.GroupEnd(start), d.n)
		sh := d.set.SampleShapes(start)
		var per [][]int
		for _, in := range d.set.Inputs() {
			if d.whole {
				per = append(per, sh[in.Name])
			} else {
				per = append(per, sh[in.Name][1:])
			}
		}
		ends, shapes = append(ends, end), append(shapes, per)
		start = end
	}
	return ends, shapes
}

func (d setSamples) Sample(i int, dst []float32) (int, error) {
	if err := d.set.Float32Sample(i, dst); err != nil {
		return 0, err
	}
	if d.set.Labels == nil {
		return -1, nil
	}
	return d.set.Labels[i], nil
}

func qatCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("qat", "MODEL -o OUT.onnx --data DIR [--preprocess S] [--input-shape NAME=d0,d1,...] [--epochs N] [--lr F[,F...]] [--batch B] [--method M|auto] [--freeze-bn-after K] "+
		"[--freeze-ranges-after K] [--warmup F] [--val-n N] [--checkpoints C] [--start-margin P] [--optimizer sgd|adamw] [--ranges ema|ema-clip|fixed|learned] [--renorm-folded] [--average F] [--reestimate B] [--loss auto|ce|distill|outputs] [--distill A] [--temperature T] [--label-smoothing F] [--seed S] [--n N] [--eval-n N] [--json]", stderr)
	out := fs.String("o", "", "output ONNX file (required; written only if everything succeeds)")
	data := fs.String("data", projectPath(defaultData), "training data: IDX files with their labels, a folder of PNG/JPEG images (see --preprocess) or of class folders of them (DIR/CLASS/IMAGE), "+
		"or a folder of .npy (one input) / .npz (one array per input name) tensors; a labels.txt beside images or tensors labels them (without labels, --loss auto trains on the float model's outputs)")
	split := fs.String("split", "train", "IDX split (file prefix) to train on")
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	n := fs.Int("n", 0, "train on the first N images (0 = all)")
	def := qat.DefaultOptions()
	epochs := fs.Int("epochs", def.Epochs, "epochs")
	lrFlag := fs.String("lr", "", "peak learning rate, after --warmup, cosine decay to 0; a comma-separated list trains once per rate from the same start and writes the run whose int8 model scores best on training images (default: 0.01,0.003 for sgd, 1e-4 for adamw, 1e-3 for adamw with --loss outputs)")
	warmup := fs.Float64("warmup", def.Warmup, "fraction of the steps over which the learning rate rises linearly to --lr")
	batch := fs.Int("batch", def.Batch, "training batch size")
	micro := fs.Int("micro-batch", 0, "run each batch M samples at a time, accumulating the gradients of the whole batch before each step (0 = the whole batch at once, or 1 for a model that runs one sample at a time)")
	optName := fs.String("optimizer", def.Optimizer, "sgd (momentum 0.9) or adamw (the default with --loss outputs)")
	wd := fs.Float64("weight-decay", 0, "weight decay (default 0 for sgd, 0.01 for adamw)")
	schedule := fs.String("schedule", def.Schedule, "learning-rate schedule: cosine or constant")
	methodName := fs.String("method", "auto", "calibration method that initialises the activation ranges: "+strings.Join(quantizer.MethodNames(), ", ")+
		", or auto (each scored on the checkpoint images — the held-back ones, or with --val-n 0 the 1000 training images after the calibration ones — the best kept, as quantize --method auto)")
	calibN := fs.Int("calib-n", 1000, "number of training images for the initial calibration")
	freeze := fs.Float64("freeze-bn-after", def.FreezeBNAfter, "freeze Conv+BatchNorm statistics after K epochs (fractions allowed; 0 = from the start, -1 = never)")
	freezeRanges := fs.Float64("freeze-ranges-after", def.FreezeRangesAfter, "stop updating the activation ranges after K epochs (fractions allowed; -1 = never)")
	valN := fs.Int("val-n", 0, "training images held back (the last ones, at most a tenth) to pick the best checkpoint, the post-training start included (0 = train on all and keep the last, unless it scores more than --start-margin below the start on 1000 training images)")
	ckpts := fs.Int("checkpoints", 4, "checkpoints scored on the validation images per epoch")
	margin := fs.Float64("start-margin", 1, "write the post-training start instead of the chosen checkpoint only when that checkpoint scores more than P points below it on the checkpoint images")
	rangesMode := fs.String("ranges", def.Ranges, "activation ranges during training: ema (moving min/max), ema-clip (moving min/max kept at the calibrated clipping), fixed (calibrated) or learned (trainable, LSQ gradient)")
	average := fs.Float64("average", def.Average, "write the mean of the weights over the last F of the steps (stochastic weight averaging; 0 = the last weights)")
	reest := fs.Int("reestimate", def.Reestimate, "after training, re-estimate BatchNorm statistics and activation ranges as the mean over B training batches run forward (0 = keep the moving averages)")
	lossFlag := fs.String("loss", "auto", "training loss: ce (the labels' cross-entropy on the one [N, classes] output), distill (that output's softmax matched to the float model's: no labels), "+
		"outputs (every output matched to the float model's: no labels; detectors, segmentation, features) or auto (ce with labels, distill without, outputs for any other model)")
	distill := fs.Float64("distill", def.Distill, "weight of the distillation from the float32 model in the loss (the labels' cross-entropy keeps 1 - A; 0 = off)")
	temp := fs.Float64("temperature", def.Temperature, "temperature of the distillation")
	smooth := fs.Float64("label-smoothing", def.LabelSmoothing, "smooth the labels of the cross-entropy towards uniform by F (0 = off; --loss ce only)")
	seed := fs.Int64("seed", 0, "seed of the data shuffle")
	evalData := fs.String("eval-data", "", "labelled data to report int8 accuracy before and after training (default: --data)")
	evalSplit := fs.String("eval-split", "t10k", "IDX split of the evaluation data")
	evalN := fs.Int("eval-n", 0, "evaluate on the first N images (0 = all; -1 = no evaluation)")
	renorm := fs.Bool("renorm-folded", false, "train every convolution whose BatchNormalization the export folded with one put back (statistics and scale from the first batch, the folded layer unchanged at the start)")
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
	lrCands, err := parseLRs(*lrFlag)
	if err != nil {
		return usageErr("%v", err)
	}
	if *epochs <= 0 || *batch <= 0 || *micro < 0 || *n < 0 || *calibN <= 0 || *valN < 0 || *ckpts <= 0 || !(*margin >= 0) ||
		(*freeze < 0 && *freeze != -1) || (*freezeRanges < 0 && *freezeRanges != -1) {
		return usageErr("--epochs, --batch, --calib-n and --checkpoints must be > 0; --micro-batch, --n, --val-n and --start-margin >= 0; --freeze-bn-after and --freeze-ranges-after >= 0 or -1")
	}
	// qat.Options reads a zero temperature as "the default" (1); given on the
	// command line it is a value, and the report would say 0 of a run at 1.
	if !(*temp > 0) || math.IsInf(*temp, 0) {
		return usageErr("--temperature must be a finite number > 0, got %v", *temp)
	}
	switch strings.ToLower(strings.TrimSpace(*lossFlag)) {
	case "auto", lossCE, lossDistill, lossOutputs:
	default:
		return usageErr("--loss must be auto, ce, distill or outputs, got %q", *lossFlag)
	}
	auto := strings.EqualFold(strings.TrimSpace(*methodName), "auto")
	method := quantizer.DefaultMethod
	if !auto {
		if method, err = quantizer.ParseMethod(*methodName); err != nil {
			return usageErr("%v", err)
		}
	}
	if _, err := (qat.Options{Batch: *batch, MicroBatch: *micro, Optimizer: *optName, Schedule: *schedule, Ranges: *rangesMode, Warmup: *warmup, Average: *average, Reestimate: *reest, Distill: *distill, Temperature: *temp, LabelSmoothing: *smooth}).WithDefaults(); err != nil {
		return usageErr("%v", err)
	}
	lrs, err := resolveLRs(lrCands, qat.Options{Optimizer: *optName})
	if err != nil {
		return usageErr("%v", err)
	}
	var excluded []string
	for _, e := range strings.Split(*exclude, ",") {
		if e = strings.TrimSpace(e); e != "" {
			excluded = append(excluded, e)
		}
	}
	if err := checkOutput(*out, pos[0]); err != nil {
		return err
	}
	start := time.Now()
	m, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	// A quantized model (QDQ or QOperator) starts from its float32 form: its
	// weights as it computes with them, its activations' ranges (modelRanges)
	// as the start of theirs.
	var modelRanges quantizer.Ranges
	if err := quantizer.CheckFloat(m); err != nil {
		fm, r, derr := quantizer.DequantizeQDQ(m)
		if derr != nil {
			return fmt.Errorf("%s: qat starts from a float model or one quantized in QDQ or QOperator form, and this one is %w", pos[0], derr)
		}
		m, modelRanges = fm, r
	}
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	ds, err := openData(*data, *split, *preprocess, m, shapes, 0)
	if err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	sample, err := trainingSampleShape(ds, m)
	if err != nil {
		return err
	}
	if !sample.whole {
		// samples stacked along axis 0: refused before any work when that is
		// not the batch (whole samples of a time-major model run as they are)
		if err := qat.CheckBatchLeading(m.Graph); err != nil {
			return err
		}
	}
	loss, lossWhy, err := resolveLoss(*lossFlag, ds.Labels != nil, qat.TrainedOutputs(m.Graph), ds.Name)
	if err != nil {
		return err
	}
	if sample.whole && strings.EqualFold(strings.TrimSpace(*lossFlag), "auto") && loss != lossOutputs {
		// a whole input's rows are not samples: no label or softmax per sample
		loss, lossWhy = lossOutputs, "each sample is every input whole, its rows not samples"
	}
	if loss != lossCE && *distill > 0 {
		return usageErr("--distill mixes the float model into the labels' cross-entropy (--loss ce); the %s loss is the float model's alone", loss)
	}
	if loss != lossCE && *smooth > 0 {
		return usageErr("--label-smoothing smooths the labels of the cross-entropy (--loss ce); the %s loss has none", loss)
	}
	rank := ranker{vsFloat: loss != lossCE}
	classes := declaredClasses(qat.TrainedOutputs(m.Graph))
	if loss == lossCE {
		if err := ds.CheckClasses(classes); err != nil {
			return fmt.Errorf("training data: %w", err)
		}
	}
	if !*asJSON && lossWhy != "" {
		fmt.Fprintf(stdout, "loss: %s (%s; --loss %s)\n", lossText(loss), lossWhy, loss)
	}
	if loss == lossOutputs && !setFlags(fs)["optimizer"] {
		*optName = "adamw"
		if lrs, err = resolveLRs(outputsLRs(lrCands), qat.Options{Optimizer: *optName}); err != nil {
			return usageErr("%v", err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "optimizer: adamw, learning rate %s (the outputs loss's default; --optimizer sgd for SGD)\n", formatLRs(lrs))
		}
	}
	var evalDS *dataset.Set
	if *evalN >= 0 {
		dir := *evalData
		if dir == "" {
			dir = *data
		}
		if evalDS, err = openData(dir, *evalSplit, *preprocess, m, shapes, 0); err != nil {
			return fmt.Errorf("evaluation data: %w", err)
		}
		if evalDS.Labels == nil && !rank.vsFloat {
			return fmt.Errorf("evaluation data %s has no labels: the int8 accuracy before and after training needs them (--eval-n -1 skips the evaluation)", evalDS.Name)
		}
		if !rank.vsFloat {
			if err := evalDS.CheckClasses(classes); err != nil {
				return fmt.Errorf("evaluation data: %w", err)
			}
		}
	}
	if declared := writtenInputShape(m); !*asJSON && hasSymbolicSample(m) {
		if sample.groups > 1 {
			fmt.Fprintf(stdout, "training at the data's %s, every batch of one size; the model declares %s and is written so\n", sample, declared)
		} else {
			fmt.Fprintf(stdout, "training at input size %s (the data's); the model declares %s\n", sample, declared)
		}
	}
	cfg := qat.Config{Exclude: excluded, Threads: *threads, RenormFolded: *renorm}
	sample.configure(&cfg)
	net, err := qat.New(m, cfg)
	if err != nil {
		return err
	}
	if got := net.InputNames(); !slices.Equal(got, sample.names) {
		return fmt.Errorf("qat: the training program reads the inputs %v, the data set %v", got, sample.names)
	}
	if *renorm && !*asJSON {
		fmt.Fprintf(stdout, "BatchNormalization put back behind %d folded convolutions\n", net.Renormalized())
	}
	fbBatch, fbWhy, err := fixedBatchSize(*batch, net, setFlags(fs)["batch"])
	if err != nil {
		return err
	}
	if *batch = fbBatch; fbWhy != "" && !*asJSON {
		fmt.Fprintln(stdout, fbWhy)
	}
	poolN := ds.Len()
	if *n > 0 && *n < poolN {
		poolN = *n
	}
	vn := valImages(*valN, poolN)
	trainN := poolN - vn
	if per := float64(trainN) / float64(sample.groups); sample.groups > 1 && per < float64(*batch)/2 {
		fmt.Fprintf(stderr, "warning: the %d training samples come in %d shapes and a batch holds one shape: %.1f samples a shape on average against --batch %d; cut or pad the sequences to a few lengths for full batches\n",
			trainN, sample.groups, per, *batch)
	}
	warn := func(s string) { fmt.Fprintln(stderr, "warning:", s) }
	if ng := net.NoGradient(); ng != nil {
		warn(ng.String())
	}
	if why := net.LossTargets(); why != "" && loss == lossOutputs {
		fmt.Fprintln(stderr, "note:", why)
	}
	// A label-free run scores int8 models against the float model's outputs, which
	// its evaluators keep: each set of images is cut to what scoredBudget allows.
	lim := &scoreLimit{max: math.MaxInt, warn: warn}
	if rank.vsFloat {
		if lim.per, err = outputFloats(m, ds, sample.whole, *threads); err != nil {
			return err
		}
		lim.max = scoredCap(lim.per, scoredBudget)
	}
	// The images --method auto and the checkpoint choice score: the held-back ones, or
	// with none held back, training images after the calibration ones.
	from, cn := trainN, lim.cut(vn)
	checkSet := fmt.Sprintf("training %s %d-%d, held back from training", sampleNoun(ds), from, from+cn-1)
	if vn == 0 {
		from, cn = checkSlice(poolN, min(*calibN, trainN))
		cn = lim.cut(cn)
		checkSet = fmt.Sprintf("training %s %d-%d, also trained on", sampleNoun(ds), from, from+cn-1)
	}
	ev, err := qatValidation(m, ds, from, cn, *threads, nil)
	if err != nil {
		return err
	}
	cal, _, err := calibratorFromDir(m, method, calibSource{*data, *split, *preprocess, shapes}, min(*calibN, trainN), 100, quantizer.DefaultPercentile, *threads, excluded, stderr, warn)
	if err != nil {
		return err
	}
	var ranges quantizer.Ranges
	modelTaken := 0 // activation ranges the quantized model gave
	var crep *quantizer.CalibReport
	if modelRanges != nil {
		// The start is the quantized model's quantization: its ranges where it has
		// them, the default method's (or --method's) where warboy quantizes
		// a tensor it left in float32.
		if ranges, crep, err = cal.ComputeRangesFor(method); err != nil {
			return err
		}
		for name, r := range modelRanges {
			if _, ok := ranges[name]; ok {
				ranges[name] = r
			}
		}
		acts := net.Plan().Activations
		for _, a := range acts {
			if _, ok := modelRanges[a.Name]; ok {
				modelTaken++
			}
		}
		if !*asJSON {
			others := ""
			if modelTaken < len(acts) {
				others = fmt.Sprintf(" (%s calibrates the others)", method)
			}
			fmt.Fprintf(stdout, "start: the quantized model's weights, and its ranges for %d of the %d activations quantized%s\n", modelTaken, len(acts), others)
		}
	} else if auto {
		bar := progress.New(stderr, "method auto", len(quantizer.Methods()))
		res, err := quantizer.AutoMethod(m, cal, ev, quantizer.QuantOptions{Exclude: excluded}, bar.Callback())
		bar.Done()
		if err != nil {
			return err
		}
		method, ranges, crep = res.Best, res.Ranges, res.Report
	} else if ranges, crep, err = cal.ComputeRangesFor(method); err != nil {
		return err
	}
	if err := net.SetRanges(ranges); err != nil {
		return err
	}
	microBatch, microWhy, stacked, err := chooseMicroBatch(net, setSamples{set: ds, n: trainN, whole: sample.whole}, *batch, *micro, setFlags(fs)["micro-batch"], sample)
	if err != nil {
		return err
	}
	if microWhy != "" && !*asJSON {
		fmt.Fprintln(stdout, microWhy)
	}
	rep := &qatReport{Model: pos[0], Output: *out, Data: ds.Name, Preprocess: preprocessSpec(ds), SampleShape: sample.first(), SampleShapes: sample.shapes, SampleGroups: sample.groups, RenormFolded: net.Renormalized(), TrainImages: trainN, Method: method.String(),
		CalibSamples: crep.Samples, Epochs: *epochs, Batch: *batch, MicroBatch: microBatch, MicroBatchWhy: microWhy, Optimizer: *optName, FreezeBNAfter: *freeze,
		FreezeRanges: *freezeRanges, Warmup: *warmup, ValImages: vn, CheckSet: checkSet, StartMargin: *margin, Ranges: *rangesMode, Average: *average, Reestimate: *reest, Loss: loss, Distill: *distill, Temperature: *temp, Smoothing: *smooth, Seed: *seed, Threads: *threads}
	rep.NoGradParams, rep.NoGradThrough = []string{}, []string{}
	rep.ModelRanges = modelTaken
	if ng := net.NoGradient(); ng != nil {
		rep.NoGradParams, rep.NoGradThrough = ng.All(), ng.Through
	}

	var outEval *quantizer.Evaluator // a label-free loss's evaluation: against the float model
	if evalDS != nil {
		if *evalData == "" && evalDS.Kind != "idx" {
			give := "give --eval-data for held-out " + sampleNoun(evalDS)
			if other := siblingSplit(*data); other != "" {
				give = "give --eval-data " + other + " for held-out " + sampleNoun(evalDS)
			}
			warn(fmt.Sprintf("the int8 figures below are on the training data %s (only IDX data has a test split): %s", evalDS.Name, give))
		}
		rep.EvalData = evalDS.Name
		ptq, err := quantizer.Quantize(m, ranges, quantizer.QuantOptions{Exclude: excluded})
		if err != nil {
			return err
		}
		if rank.vsFloat {
			if outEval, err = outputsEvaluator(m, evalDS, *evalN, lim.cut, *threads, stderr); err != nil {
				return fmt.Errorf("evaluation data: %w", err)
			}
			sc, err := scoreWithBar(outEval, ptq, stderr, "eval PTQ")
			if err != nil {
				return err
			}
			rep.EvalImages = sc.Samples
			rep.PTQAccuracy, rep.PTQAgreement, rep.PTQSQNR = scorePointers(sc)
			if !*asJSON {
				fmt.Fprintf(stdout, "post-training int8 (%s, %d calibration %s): %s on %d %s of %s\n",
					method, crep.Samples, sampleNoun(ds), sc, sc.Samples, sampleNoun(evalDS), evalDS.Name)
			}
		} else {
			res, err := evalInt8(ptq, evalDS, *evalN, *threads, stderr, "eval PTQ")
			if err != nil {
				return err
			}
			rep.EvalImages = res.Images
			rep.PTQAccuracy = &res.Accuracy
			if !*asJSON {
				fmt.Fprintf(stdout, "post-training int8 (%s, %d calibration %s): %.2f %% on %d %s of %s\n",
					method, crep.Samples, sampleNoun(ds), 100*res.Accuracy, res.Images, sampleNoun(evalDS), evalDS.Name)
			}
		}
	}

	initName := method.String()
	if modelTaken > 0 {
		initName = "the quantized model's ranges, " + initName + " for the others"
	}
	qopts := quantizer.QuantOptions{CalibMethod: "QAT (" + initName + " init)", CalibSamples: crep.Samples}
	base := qat.Options{Epochs: *epochs, Batch: *batch, MicroBatch: microBatch, Optimizer: *optName, WeightDecay: *wd, Schedule: *schedule,
		FreezeBNAfter: *freeze, FreezeRangesAfter: *freezeRanges, Warmup: *warmup, Ranges: *rangesMode, Average: *average, Reestimate: *reest, Distill: *distill, Temperature: *temp, LabelSmoothing: *smooth, Seed: *seed, CheckpointsPerEpoch: *ckpts, Loss: loss}
	if base.Distill > 0 || loss != lossCE {
		if base.Teacher, err = qat.NewTeacher(m, cfg); err != nil {
			return err
		}
	}
	tr := &qatTrainer{model: m, cfg: cfg, ranges: ranges, qopts: qopts,
		data: setSamples{set: ds, n: trainN, whole: sample.whole}, ev: ev, margin: *margin / 100, rank: rank, classes: ev.Float().Classes, last: vn == 0, checkSet: checkSet,
		multi: len(lrs) > 1, quiet: *asJSON, stdout: stdout, stderr: stderr, stacked: stacked && sample.groups == 1}
	var runs []*lrRun
	for _, lr := range lrs {
		opts := base
		opts.LR = lr
		run, err := tr.train(net, opts)
		net = nil // the first run trains the net built above; the others build their own
		if err != nil {
			if len(lrs) == 1 || !errors.Is(err, qat.ErrDiverged) {
				return err
			}
			fmt.Fprintf(stderr, "warning: learning rate %g: %v; dropped\n", lr, err)
			continue
		}
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		return fmt.Errorf("qat: the loss diverged at every learning rate (%s); lower --lr", formatLRs(lrs))
	}
	chosen := runs[0]
	if len(lrs) > 1 {
		sev, sset, err := lrSelection(m, ds, ev, checkSet, vn, poolN, min(*calibN, trainN), lim.cut, *threads)
		if err != nil {
			return err
		}
		rep.LRSelectSet = sset
		if chosen, rep.LRCandidates, err = chooseLR(lrs, runs, sev, rank); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "learning rate (%s on %s):", rank.scoreName(ev.Float().Classes), sset)
			for _, c := range rep.LRCandidates {
				switch {
				case c.Diverged:
					fmt.Fprintf(stdout, " %g:diverged", c.LR)
				case c.Chosen:
					fmt.Fprintf(stdout, " %g:%s*", c.LR, rank.formatScore(c.score))
				default:
					fmt.Fprintf(stdout, " %g:%s", c.LR, rank.formatScore(c.score))
				}
			}
			fmt.Fprintf(stdout, "\nchosen: learning rate %g\n", chosen.lr)
		}
	}
	q := chosen.model
	if len(shapes) > 0 {
		// As quantize: the written model takes exactly the --input-shape shapes.
		if err := q.BindInputShapes(shapes); err != nil {
			return err
		}
	}
	rep.InputShape = writtenInputShape(q)
	if chosen.bound != nil && len(shapes) == 0 {
		rep.InputNote = fmt.Sprintf("written at the training size %s, not as the float model declares it (%s): %v",
			sample, writtenInputShape(m), chosen.bound)
	}
	rep.LR, rep.EpochLog, rep.Checkpoints, rep.ChosenEpochs = chosen.lr, chosen.stats, chosen.checkpoints, &chosen.at
	switch {
	case outEval != nil:
		sc, err := scoreWithBar(outEval, q, stderr, "eval QAT")
		if err != nil {
			return err
		}
		rep.QATAccuracy, rep.QATAgreement, rep.QATSQNR = scorePointers(sc)
		if !*asJSON {
			fmt.Fprintf(stdout, "quantization-aware trained int8: %s on %d %s of %s\n", sc, sc.Samples, sampleNoun(evalDS), evalDS.Name)
		}
	case evalDS != nil:
		res, err := evalInt8(q, evalDS, *evalN, *threads, stderr, "eval QAT")
		if err != nil {
			return err
		}
		rep.QATAccuracy = &res.Accuracy
		if !*asJSON {
			fmt.Fprintf(stdout, "quantization-aware trained int8: %.2f %% on %d %s of %s\n", 100*res.Accuracy, res.Images, sampleNoun(evalDS), evalDS.Name)
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
	if rep.InputNote != "" {
		fmt.Fprintln(stdout, "note:", rep.InputNote)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, input %s) in %.1f s\n", *out, len(enc), rep.InputShape, rep.TotalSec)
	return nil
}

// evalInt8 scores a quantized model on the int8 runtime.
func evalInt8(q *graph.Model, ds *dataset.Set, n, threads int, stderr io.Writer, label string) (*bench.EvalResult, error) {
	sess, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(threads))
	if err != nil {
		return nil, err
	}
	total := ds.Len()
	if n > 0 && n < total {
		total = n
	}
	bar := progress.New(stderr, label, total)
	res, err := bench.EvaluateSet(sess, ds, bench.EvalOptions{N: n, Batch: 100, Progress: bar.Callback()})
	bar.Done()
	if err != nil {
		return nil, err
	}
	if res.Images == 0 {
		return nil, errors.New("evaluation data is empty")
	}
	return res, nil
}

// outputsEvaluator is the evaluation of a label-free loss: the int8 models against
// the float model on the first n samples of ds (all when n is 0), cut as cut says,
// with the accuracy too when ds is labelled.
func outputsEvaluator(m *graph.Model, ds *dataset.Set, n int, cut func(int) int, threads int, stderr io.Writer) (*quantizer.Evaluator, error) {
	if n <= 0 || n > ds.Len() {
		n = ds.Len()
	}
	n = cut(n)
	bar := progress.New(stderr, "eval float32", n)
	defer bar.Done()
	return qatValidation(m, ds, 0, n, threads, bar.Callback())
}

// scoreWithBar scores q on ev with a progress bar.
func scoreWithBar(ev *quantizer.Evaluator, q *graph.Model, stderr io.Writer, label string) (quantizer.Score, error) {
	bar := progress.New(stderr, label, ev.Samples())
	ev.SetProgress(bar.Callback())
	defer func() {
		ev.SetProgress(nil)
		bar.Done()
	}()
	return ev.Score(q)
}

// scorePointers are scoreFields for the report's nullable fields.
func scorePointers(s quantizer.Score) (acc, agree *float64, sqnr *quantizer.DB) {
	acc, agree, db := scoreFields(s)
	return acc, agree, &db
}
