package main

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/qat"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// The loss `warboy qat` trains on (--loss) and how it ranks the int8 models it
// scores (the checkpoints, the learning rates).
//
// With labels and one output of class scores, the classification cross-entropy of
// PyTorch's QAT recipe ("ce"), and the int8 models are ranked by their accuracy on
// the scoring images. Without labels the float model is the teacher: a classifier's
// softmax is matched to the float model's (Hinton's distillation, "distill"), and
// a model whose outputs are not one tensor of class scores (a detector's boxes and
// scores, a segmentation map, features) matches every output ("outputs": qat's
// OutputMatchLoss). On the outlier MLP of docs/quantizer.md the softmax match kept
// more accuracy than the outputs match of the same logits (3 of 3 seeds), so a
// classifier is distilled through its softmax. Those two rank the int8 models by
// how close they come to the float model: top-1 agreement for class scores, then
// the output SQNR (quantizer.Score.Better, as `quantize --method auto` ranks the
// calibration methods).
const (
	lossCE      = "ce"
	lossDistill = "distill"
	lossOutputs = "outputs"
)

// classScores reports whether a model output can be class scores: [N, classes] with
// classes not known to be 1 (a single score is a regression or a binary logit), or
// undeclared (the cross-entropy then checks the shape it computes).
func classScores(v *graph.Value) bool {
	if !v.HasShape {
		return true
	}
	return len(v.Shape) == 2 && !(v.Shape[1].Known() && v.Shape[1].Size < 2)
}

// declaredClasses is the number of classes the one class-score output declares, or
// 0 when there is no such output or its class dimension is symbolic.
func declaredClasses(outs []*graph.Value) int {
	if len(outs) != 1 || !outs[0].HasShape || len(outs[0].Shape) != 2 || !outs[0].Shape[1].Known() {
		return 0
	}
	return outs[0].Shape[1].Size
}

// resolveLoss returns the loss --loss names and, for auto, why it was chosen, for a
// model whose trained (float) outputs are outs. auto is the cross-entropy when the
// data is labelled and the model has one output of class scores, the distillation
// when only the labels are missing, and else the outputs loss.
func resolveLoss(flag string, labelled bool, outs []*graph.Value, dataName string) (loss, why string, err error) {
	outputs := len(outs)
	one := outputs == 1 && classScores(outs[0])
	switch strings.ToLower(strings.TrimSpace(flag)) {
	case "auto", "":
		switch {
		case one && labelled:
			return lossCE, "", nil
		case one:
			return lossDistill, fmt.Sprintf("%s has no labels", dataName), nil
		case outputs != 1:
			return lossOutputs, fmt.Sprintf("the model has %d outputs", outputs), nil
		}
		return lossOutputs, fmt.Sprintf("its output %q is %s, not [N, classes]", outs[0].Name, outs[0].Shape), nil
	case lossCE:
		if !labelled {
			return "", "", fmt.Errorf("training data %s has no labels (IDX labels, or a labels.txt beside the images or tensors); --loss distill or outputs trains without them, on the float model's outputs", dataName)
		}
		if err := oneClassOutput(lossCE, outs); err != nil {
			return "", "", err
		}
		return lossCE, "", nil
	case lossDistill:
		if err := oneClassOutput(lossDistill, outs); err != nil {
			return "", "", err
		}
		return lossDistill, "", nil
	case lossOutputs:
		return lossOutputs, "", nil
	}
	return "", "", fmt.Errorf("--loss must be auto, ce, distill or outputs, got %q", flag)
}

// oneClassOutput refuses, for a loss that reads class scores, a model whose trained
// outputs are not one that can be [N, classes].
func oneClassOutput(loss string, outs []*graph.Value) error {
	if len(outs) != 1 {
		return fmt.Errorf("--loss %s trains a model with one [N, classes] output; the model has %d outputs (--loss outputs trains on all of them)", loss, len(outs))
	}
	if !classScores(outs[0]) {
		return fmt.Errorf("--loss %s trains a model with one [N, classes] output; output %q is %s (--loss outputs trains on it)", loss, outs[0].Name, outs[0].Shape)
	}
	return nil
}

// lossText says what a label-free loss trains on, for the text report.
func lossText(loss string) string {
	if loss == lossDistill {
		return "the float model's class probabilities"
	}
	return "the float model's outputs"
}

// The outputs loss trains with AdamW at outputsLR unless --optimizer is given. Its
// gradient is the outputs' error relative to their spread, orders of magnitude
// below a cross-entropy's once the start is close to float (a 30 dB start: 3 %),
// and SGD's step scales with it where AdamW's does not: on the outlier MLP of
// docs/quantizer.md ("QAT without labels") AdamW at 1e-3 kept 87.33 % against SGD's
// 86.16 % (its 0.01/0.003 rule), higher on each of 3 seeds. Trying 1e-4 as well and
// keeping the better run on the selection images (as qat_lr.go does for SGD) was
// rejected on a development detector, where it wrote a model 0.17 mAP point below
// the post-training start that the 1e-3 run kept.
const outputsLR = 1e-3

// outputsLRs are the --lr rates of the outputs loss's AdamW: those given, 0
// standing for outputsLR, or outputsLR.
func outputsLRs(given []float64) []float64 {
	if len(given) == 0 {
		return []float64{outputsLR}
	}
	out := append([]float64(nil), given...)
	for i, v := range out {
		if v == 0 {
			out[i] = outputsLR
		}
	}
	return out
}

// ranker orders scored int8 models for a loss: by accuracy, or for a label-free
// loss (vsFloat) by closeness to the float model.
type ranker struct{ vsFloat bool }

// better reports whether a ranks strictly above b.
func (r ranker) better(a, b quantizer.Score) bool {
	if r.vsFloat {
		return a.Better(b)
	}
	return a.Accuracy > b.Accuracy
}

// belowStart reports whether a trained model scoring best falls far enough below the
// post-training start that the start is written instead: by more than margin
// (a fraction) of accuracy for the cross-entropy (qat_select.go says why there is
// a margin), by anything for a label-free loss, whose reference is the float
// model's outputs rather than labels the float model memorised.
func (r ranker) belowStart(best, start quantizer.Score, margin float64) bool {
	if r.vsFloat {
		return start.Better(best)
	}
	return best.Accuracy < start.Accuracy-margin
}

// scoreFields are a scored model's figures as the report prints them: the accuracy
// when the images are labelled, the top-1 agreement with the float model when the
// first output is class scores (else null), and the SQNR of all outputs.
func scoreFields(s quantizer.Score) (acc, agree *float64, sqnr quantizer.DB) {
	if s.Labelled {
		a := s.Accuracy
		acc = &a
	}
	if s.Classes {
		g := s.Agreement
		agree = &g
	}
	return acc, agree, s.SQNR
}

// formatScore is a score as the text report prints it: the accuracy for the
// cross-entropy, the agreement (class scores) or the SQNR for a label-free loss.
func (r ranker) formatScore(s quantizer.Score) string {
	switch {
	case !r.vsFloat:
		return fmt.Sprintf("%.2f", 100*s.Accuracy)
	case s.Classes:
		return fmt.Sprintf("%.2f", 100*s.Agreement)
	}
	return fmt.Sprintf("%.2fdB", float64(s.SQNR))
}

// scoreName names what formatScore prints.
func (r ranker) scoreName(classes bool) string {
	switch {
	case !r.vsFloat:
		return "int8 accuracy"
	case classes:
		return "int8 top-1 agreement with float32"
	}
	return "int8 output SQNR against float32"
}

// scoredBudget bounds, in bytes, the float model's outputs that one set of images
// scored against it keeps (the checkpoint, learning-rate and evaluation images of a
// label-free run each have an evaluator holding them, to score every int8 model
// without running the float model again). A classifier's outputs are 40 bytes an
// image and never reach it; a segmentation map of 21 classes at 512x512 is 22 MB an
// image, and 10,000 of them would not fit in memory.
const scoredBudget = 512 << 20

// scoredCap is the number of images whose outputs of perSample floats fit in
// budget bytes (at least 1).
func scoredCap(perSample, budget int) int {
	if perSample <= 0 {
		return budget
	}
	return max(1, budget/(4*perSample))
}

// scoreLimit cuts the sets of images a label-free run scores against the float
// model to max (scoredCap) and warns once when it does.
type scoreLimit struct {
	max, per int // images, output values an image
	warned   bool
	warn     func(string)
}

func (l *scoreLimit) cut(n int) int {
	if n <= l.max {
		return n
	}
	if !l.warned {
		l.warned = true
		l.warn(fmt.Sprintf("the float model computes %d output values an image: each set of images scored against it is cut to at most %d (%d MiB of its outputs)",
			l.per, l.max, scoredBudget>>20))
	}
	return l.max
}

// outputFloats is the number of float output values the model computes for one
// sample of ds (its trained outputs; the first sample, run on the float runtime).
func outputFloats(m *graph.Model, ds *dataset.Set, whole bool, threads int) (int, error) {
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(threads))
	if err != nil {
		return 0, err
	}
	// a model that fixes its batch runs that many samples (or all there are);
	// a whole-input sample is the model's whole batch
	b := 1
	if !whole {
		b = max(1, min(quantizer.StaticBatch(m), ds.Len()))
	}
	in, err := ds.Batch(0, b)
	if err != nil {
		return 0, err
	}
	out, err := s.RunTensors(in)
	if err != nil {
		if b == 1 {
			return 0, fmt.Errorf("float model on sample 0: %w", err)
		}
		return 0, fmt.Errorf("float model on samples 0-%d (the model's batch): %w", b-1, err)
	}
	n := 0
	for _, o := range qat.TrainedOutputs(m.Graph) {
		if t := out[o.Name]; t != nil {
			n += t.Len()
		}
	}
	return (n + b - 1) / b, nil
}
