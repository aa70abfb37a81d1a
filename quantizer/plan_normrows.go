package quantizer

import (
	"fmt"
	"math"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Layer normalizations whose input rows differ in scale (twenty-second session).
//
// A layer normalization divides each row (token) by its own standard deviation, so
// the int8 rounding of its input, one step for the whole tensor, comes out of it
// multiplied by 1/σ of its row. With rows of equal scale that is harmless (the
// twenty exports measured: 38-46 dB at the normalized output from that rounding
// alone); with a row much smaller than the others (a padded token whose residual
// sum is only a bias: DeBERTa exports multiply the embeddings by the attention
// mask; a retention output's first positions) the small row's error is amplified
// with the row, and that row alone sets the normalized tensor's SQNR. The expected
// noise power of the normalized rows, relative to rows of equal scale, is
//
//	spread = mean_r(σ_r² + ε) · mean_r(1 / (σ_r² + ε))   (>= 1; equal only if every σ_r is equal)
//
// over the calibration data's rows (ε the normalization's epsilon). The rule: a
// layer normalization (written out, or LayerNormalization over the last axes)
// whose input's spread is at least normRowsMinDB (3 dB, the rounding noise after
// the normalization doubled) reads its input in float32: the operator computing
// that input (a residual Add, a MatMul, through Transpose/Reshape moves) runs
// float32 on its int8 inputs dequantized, and the normalization's output is
// quantized as before. Where every row has the same scale nothing changes. The
// spread is a calibration statistic (Calibrator.RowSpread, passed as
// QuantOptions.RowSpread); ranges read from a file carry none, so the rule is off.

// normRowsMinDB is the row spread (dB) from which a normalization reads its input in
// float32.
const normRowsMinDB = 3.0

// normRowsRule is the rule of a normalization input kept in float32.
const normRowsRule = "layer normalization input with rows of unequal scale (each row's int8 error is scaled up by 1/σ of its row): read in float32"

// normInput is a layer normalization's input: the normalized axes (from axis to the
// last) and epsilon.
type normInput struct {
	axis int
	eps  float64
}

// keepNormInputFloat applies the rule to a layer-norm region whose input rows
// spread by db: the operators computing its root leave the int8 plan (floatInputOf)
// and the root is not quantized for the region.
func (p *plan) keepNormInputFloat(r *region, db float64) {
	made := p.floatInputOf(r.root)
	r.floatRoot = true
	names := append([]string(nil), made...)
	for _, n := range r.nodes {
		names = append(names, n.Name)
	}
	p.noteNormRows(names, r.root, db)
}

// floatInputOf takes out of the int8 plan the operators that compute x: back
// through data movement (shared-scale operators) and sums (Add, Sub: a residual
// Add, a bias Add), into each activation they read, up to the operators that compute
// anything else (a MatMul, a Mul by the mask, another normalization), whose outputs
// stay int8. A sum requantized on the way would put the per-tensor step back on
// the small rows. It returns the names of the nodes taken out.
func (p *plan) floatInputOf(x string) []string {
	var made []string
	seen := map[*graph.Node]bool{}
	var walk func(name string)
	walk = func(name string) {
		pr := p.prod[name]
		if pr == nil || seen[pr] || !p.quantOp[pr] {
			return
		}
		seen[pr] = true
		delete(p.quantOp, pr)
		made = append(made, pr.Name)
		switch {
		case opRoles[pr.OpType] == roleShared:
			walk(pr.Input(0))
		case pr.OpType == "Add" || pr.OpType == "Sub":
			for _, in := range pr.Inputs {
				if !p.isConst(in) {
					walk(in)
				}
			}
		}
	}
	walk(x)
	return made
}

// noteNormRows states the rule for nodes (the operators computing the input, the
// normalization) in the notes and the metadata.
func (p *plan) noteNormRows(names []string, in string, db float64) {
	p.ruled = append(p.ruled, FloatRule{Rule: normRowsRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32: %s; input %q rows spread %.1f dB (>= %.0f dB)",
		strings.Join(names, " "), normRowsRule, in, db, normRowsMinDB))
}

// bareLayerNorms applies the rule to the LayerNormalization operators outside any
// region (nothing after them to fold: they run float32 on their dequantized input):
// their inputs are measured, and one whose rows spread reads them in float32.
func (p *plan) bareLayerNorms(inRegion []*graph.Node, exclude map[string]bool) {
	taken := map[*graph.Node]bool{}
	for _, n := range inRegion {
		taken[n] = true
	}
	for _, n := range p.g.Nodes {
		if n.OpType != "LayerNormalization" || n.Domain != "" || taken[n] || exclude[n.Name] {
			continue
		}
		x := n.Input(0)
		if !p.isFloat(x) || p.isConst(x) || p.shapeVals[x] || (n.Input(1) != "" && !p.isConst(n.Input(1))) || (n.Input(2) != "" && !p.isConst(n.Input(2))) {
			continue
		}
		in, _ := layerNormInput([]*graph.Node{n}, x)
		p.normInputs[x] = in
		if db, ok := p.rowSpread[x]; ok && db >= normRowsMinDB {
			p.noteNormRows(append(p.floatInputOf(x), n.Name), x, db)
		}
	}
}

// rowStat accumulates the row spread of a layer normalization's input over the
// calibration batches (Calibrator.observe and observePiece).
type rowStat struct {
	in normInput
	// rowLen is the length of a normalized row (0 until known); carry holds the
	// start of a row split between two streamed pieces.
	rowLen int
	carry  []float32
	rows   int
	sumV   float64 // Σ (σ² + ε)
	sumInv float64 // Σ 1 / (σ² + ε)
	// bad: the tensor came in a form whose rows are unknown (channels-last, a
	// symbolic row length): no spread is reported.
	bad bool
}

// setShape sets the row length from the tensor's shape (a batch of another shape
// may bring another one: set between tensors); false if it cannot.
func (s *rowStat) setShape(shape []int) bool {
	if len(s.carry) > 0 {
		s.bad = true // the previous tensor ended inside a row
		return false
	}
	a := s.in.axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		s.bad = true
		return false
	}
	n := 1
	for _, d := range shape[a:] {
		if d <= 0 {
			s.bad = true
			return false
		}
		n *= d
	}
	s.rowLen = n
	return true
}

// add takes the next values of the tensor in order (whole rows, or the pieces of
// rows, which are completed across calls).
func (s *rowStat) add(d []float32) {
	if s.bad || s.rowLen <= 0 {
		s.bad = true
		return
	}
	if len(s.carry) > 0 {
		need := s.rowLen - len(s.carry)
		if len(d) < need {
			s.carry = append(s.carry, d...)
			return
		}
		s.carry = append(s.carry, d[:need]...)
		s.row(s.carry)
		s.carry = s.carry[:0]
		d = d[need:]
	}
	for len(d) >= s.rowLen {
		s.row(d[:s.rowLen])
		d = d[s.rowLen:]
	}
	s.carry = append(s.carry, d...)
}

func (s *rowStat) row(x []float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(len(x))
	var ss float64
	for _, v := range x {
		e := float64(v) - mean
		ss += e * e
	}
	v := ss/float64(len(x)) + s.in.eps
	if !(v > 0) || math.IsInf(v, 0) {
		s.bad = true
		return
	}
	s.rows++
	s.sumV += v
	s.sumInv += 1 / v
}

// spreadDB is the rows' spread in dB; ok is false when it is unknown.
func (s *rowStat) spreadDB() (float64, bool) {
	if s.bad || s.rows == 0 || len(s.carry) > 0 {
		return 0, false
	}
	n := float64(s.rows)
	return 10 * math.Log10((s.sumV/n)*(s.sumInv/n)), true
}

// normInputOf returns the normalized input of a layer-norm region: a written-out
// pattern (graph.RegionLayerNorm) normalizes the last axis; a LayerNormalization
// operator reading the root directly its axis attribute onwards.
func normInputOf(r graph.Region) (normInput, bool) {
	if r.Kind == graph.RegionLayerNorm && r.LayerNorm != nil {
		return normInput{axis: -1, eps: float64(r.LayerNorm.Epsilon)}, true
	}
	return normInput{}, false
}

// layerNormInput is normInputOf for a normalization region of plan_norm.go: a
// LayerNormalization operator reading the region's root (no Reshape before it).
func layerNormInput(nodes []*graph.Node, root string) (normInput, bool) {
	if len(nodes) == 0 {
		return normInput{}, false
	}
	n := nodes[0]
	if n.OpType != "LayerNormalization" || n.Input(0) != root {
		return normInput{}, false
	}
	return normInput{axis: int(n.AttrInt("axis", -1)), eps: float64(n.AttrFloat("epsilon", 1e-5))}, true
}
