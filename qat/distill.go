package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// Teacher is the float32 model a quantization-aware fine-tune is distilled from:
// the same quantize-ready graph without fake quantization, BatchNorm with its running
// statistics, evaluated on each training batch.
type Teacher struct {
	net *Net
}

// NewTeacher prepares the float32 model m (typically the model being fine-tuned) as a
// teacher, at the sample shapes the student trains at (cfg.SampleShape or
// SampleShapes) with cfg.Threads; the rest of cfg is not read.
func NewTeacher(m *graph.Model, cfg Config) (*Teacher, error) {
	n, err := New(m, Config{FloatOnly: true, Threads: cfg.Threads, SampleShape: cfg.SampleShape, SampleShapes: cfg.SampleShapes, WholeInputs: cfg.WholeInputs})
	if err != nil {
		return nil, fmt.Errorf("qat teacher: %w", err)
	}
	return &Teacher{net: n}, nil
}

// logits returns the teacher's logits for a batch (owned by the teacher until the
// next call).
func (t *Teacher) logits(x []float32, batch int) ([]int, []float32, error) {
	if _, _, err := t.net.Forward(x, batch); err != nil {
		return nil, nil, err
	}
	// A model that outputs probabilities is distilled from the logits they came from
	// (probhead.go), as the student's loss reads its own.
	shape, data := t.net.lossLogits()
	return shape, data, nil
}

// outputs returns the teacher's values of every graph output for a batch (owned
// by the teacher until the next call).
func (t *Teacher) outputs(x []float32, batch int) ([][]int, [][]float32, error) {
	if _, _, err := t.net.Forward(x, batch); err != nil {
		return nil, nil, err
	}
	shapes, data := t.net.outputValues()
	return shapes, data, nil
}

// DistillCrossEntropy is the loss of knowledge distillation (Hinton et al., 2015):
// (1-alpha) * the cross-entropy of logits [N, K] against labels + alpha * T² * the
// Kullback-Leibler divergence from the teacher's softmax(teacher/T) to softmax(logits/T),
// averaged over the batch. It returns that loss and the number of correct top-1
// predictions, and writes d(loss)/d(logits) into grad (when not nil). With alpha 0 it
// is SoftmaxCrossEntropy.
func DistillCrossEntropy(logits, teacher []float32, k int, labels []int, alpha, temp float64, grad []float32) (float64, int) {
	ce, correct := SoftmaxCrossEntropy(logits, k, labels, grad)
	if alpha == 0 {
		return ce, correct
	}
	n := len(labels)
	ps, pt := make([]float64, k), make([]float64, k)
	var kl float64
	for i := 0; i < n; i++ {
		lse := softmaxT(logits[i*k:(i+1)*k], temp, ps)
		softmaxT(teacher[i*k:(i+1)*k], temp, pt)
		for j := 0; j < k; j++ {
			if pt[j] > 0 {
				// log ps = s/T - lse
				kl += pt[j] * (math.Log(pt[j]) - (float64(logits[i*k+j])/temp - lse))
			}
		}
		if grad != nil {
			g := grad[i*k : (i+1)*k]
			for j := range g {
				g[j] = float32((1-alpha)*float64(g[j]) + alpha*temp*(ps[j]-pt[j])/float64(n))
			}
		}
	}
	return (1-alpha)*ce + alpha*temp*temp*kl/float64(n), correct
}

// DistillKL is the distillation loss alone, for training without labels (Options.Loss
// "distill"): T² * the Kullback-Leibler divergence from the teacher's
// softmax(teacher/T) to softmax(logits/T) over the n rows of [n, k] logits, averaged
// over the rows. It returns that loss and the number of rows whose top-1 class is
// the teacher's, and writes d(loss)/d(logits) into grad (when not nil).
func DistillKL(logits, teacher []float32, k int, temp float64, grad []float32) (float64, int) {
	n := len(logits) / k
	ps, pt := make([]float64, k), make([]float64, k)
	var kl float64
	agree := 0
	for i := 0; i < n; i++ {
		row, trow := logits[i*k:(i+1)*k], teacher[i*k:(i+1)*k]
		if argmax(row) == argmax(trow) {
			agree++
		}
		lse := softmaxT(row, temp, ps)
		softmaxT(trow, temp, pt)
		for j := 0; j < k; j++ {
			if pt[j] > 0 {
				kl += pt[j] * (math.Log(pt[j]) - (float64(row[j])/temp - lse))
			}
		}
		if grad != nil {
			g := grad[i*k : (i+1)*k]
			for j := range g {
				g[j] = float32(temp * (ps[j] - pt[j]) / float64(n))
			}
		}
	}
	return temp * temp * kl / float64(n), agree
}

// softmaxT writes softmax(row/temp) into p and returns log(sum(exp(row/temp))).
func softmaxT(row []float32, temp float64, p []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v)/temp)
	}
	var sum float64
	for j, v := range row {
		p[j] = math.Exp(float64(v)/temp - mx)
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	return mx + math.Log(sum)
}
