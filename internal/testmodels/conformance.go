package testmodels

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/warboy-sim/warboy/onnx"
)

// ConformanceDir holds ONNX's operator conformance tests (Debian package
// libonnx-testdata, ONNX 1.12: opsets up to 17). `make test` installs it.
const ConformanceDir = "/usr/share/libonnx-testdata/data/node"

// ConformanceCase is one ONNX node test: a directory with model.onnx and
// test_data_set_*/{input,output}_N.pb.
type ConformanceCase struct {
	Name  string
	Dir   string
	Ops   []string // distinct operators, "domain::op" outside the default domain
	Opset int64    // default-domain opset
}

// ConformanceCases reads every test model under ConformanceDir at the protobuf level
// (without building the IR, which rejects types the project does not support) to learn
// its operators and opset. Models that cannot be read are returned as errors beside
// the cases; none of either when the data is not installed.
func ConformanceCases() ([]ConformanceCase, []error) {
	return CasesIn(ConformanceDir, "test_*")
}

// SimpleDir holds ONNX's small model tests (libonnx-testdata's data/simple), among
// them test_sequence_model1..8: the sequence operators in combination.
const SimpleDir = "/usr/share/libonnx-testdata/data/simple"

// CasesIn reads the test cases of dir whose directory names match pattern, as
// ConformanceCases does for ConformanceDir.
func CasesIn(dir, pattern string) ([]ConformanceCase, []error) {
	dirs, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, []error{err}
	}
	slices.Sort(dirs)
	var cases []ConformanceCase
	var unread []error
	for _, d := range dirs {
		mp, err := onnx.LoadFile(filepath.Join(d, "model.onnx"))
		if err != nil {
			unread = append(unread, fmt.Errorf("%s: cannot read model: %w", filepath.Base(d), err))
			continue
		}
		c := ConformanceCase{Name: filepath.Base(d), Dir: d}
		for _, o := range mp.GetOpsetImport() {
			if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
				c.Opset = o.GetVersion()
			}
		}
		for _, n := range mp.GetGraph().GetNode() {
			op := n.GetOpType()
			if dom := n.GetDomain(); dom != "" && dom != "ai.onnx" {
				op = dom + "::" + op
			}
			if !slices.Contains(c.Ops, op) {
				c.Ops = append(c.Ops, op)
			}
		}
		slices.Sort(c.Ops)
		cases = append(cases, c)
	}
	return cases, unread
}

// Model is the path of the case's model.
func (c ConformanceCase) Model() string { return filepath.Join(c.Dir, "model.onnx") }

// DataSets lists the case's test_data_set_* directories.
func (c ConformanceCase) DataSets() ([]string, error) {
	return filepath.Glob(filepath.Join(c.Dir, "test_data_set_*"))
}

// InputFile is the path of input i of a data set.
func InputFile(set string, i int) string { return filepath.Join(set, fmt.Sprintf("input_%d.pb", i)) }

// OutputFile is the path of output i of a data set.
func OutputFile(set string, i int) string { return filepath.Join(set, fmt.Sprintf("output_%d.pb", i)) }
