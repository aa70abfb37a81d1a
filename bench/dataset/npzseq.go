package dataset

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Sequence values in .npz files. An ONNX sequence (a list of tensors, possibly of
// different shapes) has no NumPy array form, so a file gives it as one member per
// element: NAME.0, NAME.1, ... NAME.{n-1} (contiguous from 0, each element whole,
// with no batch axis), and an empty sequence as the single member NAME.empty, a
// zero-size array whose dtype is the elements'. A file that feeds a sequence input
// holds one sample (a sequence has no axis to stack samples on). `run --output`
// writes sequence outputs the same way.

// SeqEmptySuffix marks the member that stands for an empty sequence.
const SeqEmptySuffix = ".empty"

// SeqMemberName is the .npz member of element i of the sequence name.
func SeqMemberName(name string, i int) string { return name + "." + strconv.Itoa(i) }

// SeqArrays spells the sequence value t named name as .npz members.
func SeqArrays(name string, t *graph.Tensor) ([]NamedTensor, error) {
	elems, ok := t.SeqElems()
	if !ok {
		return nil, fmt.Errorf("%q is not a sequence", name)
	}
	if len(elems) == 0 {
		dt := t.DType
		if dt == graph.Undefined {
			dt = graph.Float32
		}
		return []NamedTensor{{Name: name + SeqEmptySuffix, Tensor: graph.NewTensor(dt, []int{0})}}, nil
	}
	out := make([]NamedTensor, len(elems))
	for i, e := range elems {
		out[i] = NamedTensor{Name: SeqMemberName(name, i), Tensor: e}
	}
	return out, nil
}

// seqMembers finds the members of the sequence name among a file's arrays: the
// element count (0 for NAME.empty), or an error naming what is missing or extra.
func seqMembers[T any](arrays map[string]T, name, file string) (int, error) {
	idx := map[int]bool{}
	maxI := -1
	_, empty := arrays[name+SeqEmptySuffix]
	for k := range arrays {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || strconv.Itoa(i) != rest {
			continue
		}
		idx[i] = true
		maxI = max(maxI, i)
	}
	_, plain := arrays[name]
	switch {
	case empty && maxI >= 0:
		return 0, fmt.Errorf("%s: sequence input %q: both %q (an empty sequence) and elements (%q ...) are given", file, name, name+SeqEmptySuffix, SeqMemberName(name, 0))
	case empty:
		return 0, nil
	case maxI < 0 && plain:
		return 0, fmt.Errorf("%s: input %q is a sequence: give its elements as arrays %q, %q, ... (or %q, a zero-size array, for an empty sequence), not one array %q",
			file, name, SeqMemberName(name, 0), SeqMemberName(name, 1), name+SeqEmptySuffix, name)
	case maxI < 0:
		return 0, fmt.Errorf("%s: no arrays for sequence input %q: give its elements as arrays %q, %q, ... (or %q, a zero-size array, for an empty sequence); the archive holds %s",
			file, name, SeqMemberName(name, 0), SeqMemberName(name, 1), name+SeqEmptySuffix, strings.Join(quoted(sortedNames(arrays)), ", "))
	}
	for i := 0; i <= maxI; i++ {
		if !idx[i] {
			return 0, fmt.Errorf("%s: sequence input %q: array %q is missing (the elements are numbered from 0 without gaps; %q is given)",
				file, name, SeqMemberName(name, i), SeqMemberName(name, maxI))
		}
	}
	return maxI + 1, nil
}

// checkSeqSample checks the elements of sequence input in in a file against its
// element type and what its elements' shapes have in common.
func checkSeqSample(arrays map[string]npzArrayInfo, in *graph.Value, n int, file string) error {
	for i := 0; i < n; i++ {
		a := arrays[SeqMemberName(in.Name, i)]
		if err := checkConvertible(a.dtype, in.DType); err != nil {
			return fmt.Errorf("%s: sequence input %q element %d: %w", file, in.Name, i, err)
		}
		if !in.HasShape {
			continue
		}
		if len(a.shape) != len(in.Shape) {
			return fmt.Errorf("%s: sequence input %q: element %d has shape %s, the model's elements have rank %d (%s)",
				file, in.Name, i, graph.FormatDims(a.shape), len(in.Shape), in.Shape)
		}
		for d, dim := range in.Shape {
			if dim.Known() && dim.Size != a.shape[d] {
				return fmt.Errorf("%s: sequence input %q: element %d has shape %s, the model's elements are %s (dimension %d is %d, not %d)",
					file, in.Name, i, graph.FormatDims(a.shape), in.Shape, d, a.shape[d], dim.Size)
			}
		}
	}
	return nil
}

// loadSeq builds sequence input in from a file's arrays (n elements), each
// converted to the element type.
func loadSeq(arrays map[string]*graph.Tensor, in *graph.Value, n int, file string) (*graph.Tensor, error) {
	dt := in.DType
	if n == 0 {
		if dt == graph.Undefined {
			dt = arrays[in.Name+SeqEmptySuffix].DType
		}
		return graph.NewSequence(dt, nil), nil
	}
	elems := make([]*graph.Tensor, n)
	for i := range elems {
		t := arrays[SeqMemberName(in.Name, i)]
		if t == nil {
			return nil, fmt.Errorf("%s: sequence input %q: array %q is missing", file, in.Name, SeqMemberName(in.Name, i))
		}
		c, err := ConvertTo(t, dt)
		if err != nil {
			return nil, fmt.Errorf("%s: sequence input %q element %d: %w", file, in.Name, i, err)
		}
		elems[i] = c
	}
	if dt == graph.Undefined {
		dt = elems[0].DType
	}
	return graph.NewSequence(dt, elems), nil
}

// seqKey is a sample's sequence inputs' element counts, for its shape-group key.
func seqKey(seqs map[string]int) string {
	if len(seqs) == 0 {
		return ""
	}
	names := make([]string, 0, len(seqs))
	for k := range seqs {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=seq(%d)", k, seqs[k])
	}
	return " " + strings.Join(parts, " ")
}

// hasSeqInput reports whether any input is a sequence.
func hasSeqInput(ins []*graph.Value) bool {
	for _, in := range ins {
		if in.Seq {
			return true
		}
	}
	return false
}
