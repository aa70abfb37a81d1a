package dataset

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/warboy-sim/warboy/graph"
)

// Options configure Open.
type Options struct {
	// Split is the IDX file prefix (default "t10k").
	Split string
	// Inputs are the model's inputs (graph inputs that are not initializers).
	Inputs []*graph.Value
	// Shapes are the user's --input-shape bindings.
	Shapes map[string][]int
	// Preprocess is the --preprocess spec for image folders ("" = pixel: x/255, no resize).
	Preprocess string
	// Limit keeps the first Limit samples in file order (0 = all).
	Limit int
}

// Set is a data set of model inputs: IDX images, a folder of PNG/JPEG images
// (preprocessed on the fly), or a folder of .npy / .npz tensors. Samples are read one
// batch at a time, so memory does not grow with the number of samples. Samples are
// ordered in groups of one shape (text lines of different widths, images of different
// sizes without a resize): a batch never spans two groups (GroupEnd). Set implements
// quantizer.Batches.
type Set struct {
	Name string
	// Kind is "idx", "images" or "tensors".
	Kind string
	// Labels holds one class index per sample, or nil when the set is unlabelled.
	Labels []int
	// Classes names the class indices of a folder of class folders (Classes[i] is
	// the folder of class i; classdirs.go); nil for other sets.
	Classes []string
	// Preprocess is the image preprocessing (image sets only).
	Preprocess *Preprocess

	inputs []*graph.Value
	items  []item
	ends   []int // exclusive end of each shape group, ascending
	ds     *Dataset
	load   func(it item) (map[string]*graph.Tensor, error)

	mu    sync.Mutex
	cache struct {
		file string
		t    map[string]*graph.Tensor
	}
}

type item struct {
	file   string
	row    int              // row of a batch file (0 for a file holding one sample)
	shapes map[string][]int // per input, with a leading 1
	modes  map[string]sampleMode
	seqs   map[string]int // sequence inputs: element count (npzseq.go)
	label  int
	key    string
}

// Open reads the data set at path for a model with the given inputs: an IDX directory
// (SPLIT-images-idx3-ubyte[.gz]), a folder of images (labels.txt optional), a folder of
// .npy/.npz files, or one .npy/.npz file. Every sample is checked against the inputs
// (rank, every declared or --input-shape dimension, dtype convertibility) before
// anything runs; errors name the file, the input and both shapes.
func Open(path string, o Options) (*Set, error) {
	if o.Split == "" {
		o.Split = "t10k"
	}
	ins := o.Inputs
	if len(ins) == 0 {
		return nil, fmt.Errorf("data %s: the model has no inputs", path)
	}
	for name := range o.Shapes {
		found := false
		for _, in := range ins {
			found = found || in.Name == name
		}
		if !found {
			return nil, fmt.Errorf("--input-shape names %q, not an input of the model", name)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var files []string
	if st.IsDir() {
		if findFile(path, o.Split+"-images-idx3-ubyte") != "" {
			return openIDX(path, o, ins)
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		var dirs []string
		for _, e := range ents {
			switch {
			case !entryIsDir(path, e):
				files = append(files, filepath.Join(path, e.Name()))
			case !strings.HasPrefix(e.Name(), "."):
				dirs = append(dirs, e.Name())
			}
		}
		sort.Strings(files)
		if len(dirs) > 0 && !fileExists(filepath.Join(path, "labels.txt")) && !holdsData(files) {
			return openClassDirs(path, dirs, o, ins)
		}
	} else {
		files = []string{path}
	}
	var tensors, images []string
	for _, f := range files {
		switch strings.ToLower(filepath.Ext(f)) {
		case ".npy", ".npz":
			tensors = append(tensors, f)
		case ".png", ".jpg", ".jpeg":
			images = append(images, f)
		}
	}
	switch {
	case len(tensors) > 0 && len(images) > 0:
		return nil, fmt.Errorf("data %s holds both images and .npy/.npz files; give one kind per folder", path)
	case len(tensors) > 0:
		if o.Preprocess != "" {
			return nil, fmt.Errorf("--preprocess %q applies to images; %s holds .npy/.npz tensors (already preprocessed)", o.Preprocess, path)
		}
		return openTensors(path, tensors, o, ins)
	case len(images) > 0 || (st.IsDir() && fileExists(filepath.Join(path, "labels.txt"))):
		return openImages(path, images, nil, o, ins)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("data %s: no %s-images-idx3-ubyte[.gz], no .npy/.npz files and no PNG/JPEG images", path, o.Split)
	}
	return nil, fmt.Errorf("data %s: not a data directory, .npy or .npz file", path)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// FromDataset wraps an in-memory Dataset (IDX or same-size images) as a Set for a
// single-input model.
func FromDataset(ds *Dataset, inputs []*graph.Value) (*Set, error) {
	if _, err := NewFeed(ds, inputs, 0); err != nil {
		return nil, err
	}
	s := &Set{Name: ds.Name, Kind: "idx", Labels: ds.Labels, inputs: inputs, ds: ds}
	s.items = make([]item, ds.N)
	s.ends = []int{ds.N}
	return s, nil
}

func openIDX(dir string, o Options, ins []*graph.Value) (*Set, error) {
	if o.Preprocess != "" {
		return nil, fmt.Errorf("--preprocess %q applies to image folders; %s is an IDX data set (pixels/255)", o.Preprocess, dir)
	}
	ds, err := Load(dir, o.Split)
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs; IDX images feed single-input models (use .npz files, one array per input)", len(ins))
	}
	if sh, ok := o.Shapes[ins[0].Name]; ok {
		if len(sh) != 4 || sh[1] != ds.C || sh[2] != ds.H || sh[3] != ds.W {
			return nil, fmt.Errorf("input %q: --input-shape %s does not fit the %s images of %s (%s)", ins[0].Name, graph.FormatDims(sh), ds.Name,
				dir, graph.FormatDims([]int{1, ds.C, ds.H, ds.W}))
		}
	}
	s, err := FromDataset(ds.Subset(o.Limit), ins)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", dir, err)
	}
	return s, nil
}

// Len is the number of samples.
func (s *Set) Len() int { return len(s.items) }

// Inputs are the model inputs the set feeds.
func (s *Set) Inputs() []*graph.Value { return s.inputs }

// GroupEnd is the (exclusive) end of the shape group holding sample start: a batch
// starting at start may hold samples up to GroupEnd(start)-1.
func (s *Set) GroupEnd(start int) int {
	if start >= 0 && start < len(s.items) && !stackable(s.items[start]) {
		// Whole inputs (a time-major x [T, N, C] beside h0 [L, N, H]) have no axis
		// to stack samples on: each is a batch of its own.
		return start + 1
	}
	i := sort.SearchInts(s.ends, start+1)
	if i == len(s.ends) {
		return len(s.items)
	}
	return s.ends[i]
}

// stackable reports whether a sample's inputs all have a leading size of 1, the axis
// a batch stacks samples on; scalar inputs are shared by the batch (putScalar).
func stackable(it item) bool {
	if len(it.seqs) > 0 {
		return false // a sequence has no batch axis (npzseq.go)
	}
	for name, sh := range it.shapes {
		if len(sh) == 0 && it.modes[name] == modeWhole {
			continue
		}
		if len(sh) == 0 || sh[0] != 1 {
			return false
		}
	}
	return true
}

// Groups is the number of shape groups.
func (s *Set) Groups() int { return len(s.ends) }

// SampleShapes returns the input shapes of sample i (leading dimension 1).
func (s *Set) SampleShapes(i int) map[string][]int {
	if s.ds != nil {
		return map[string][]int{s.inputs[0].Name: {1, s.ds.C, s.ds.H, s.ds.W}}
	}
	return s.items[i].shapes
}

// Head returns the samples [0, n) as a set (sharing storage).
func (s *Set) Head(n int) *Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	return s.Slice(0, n)
}

// Slice returns the samples [start, start+n) as a set (sharing storage): the
// validation images held back after the calibration images, for example.
func (s *Set) Slice(start, n int) *Set {
	start = max(0, min(start, s.Len()))
	n = max(0, min(n, s.Len()-start))
	c := &Set{Name: s.Name, Kind: s.Kind, Preprocess: s.Preprocess, Classes: s.Classes, inputs: s.inputs, items: s.items[start : start+n], ds: s.ds, load: s.load}
	if s.ds != nil {
		c.ds = s.ds.Slice(start, n)
	}
	if s.Labels != nil {
		c.Labels = s.Labels[start : start+n]
	}
	for _, e := range s.ends {
		if e > start && e < start+n {
			c.ends = append(c.ends, e-start)
		}
	}
	c.ends = append(c.ends, n)
	return c
}

// Batch returns samples [start, start+n) keyed by input name, converted to each
// input's dtype. The samples must share one shape group.
func (s *Set) Batch(start, n int) (map[string]*graph.Tensor, error) {
	if start < 0 || n <= 0 || start+n > s.Len() {
		return nil, fmt.Errorf("batch [%d, %d) is outside the %d samples", start, start+n, s.Len())
	}
	if s.ds != nil {
		return map[string]*graph.Tensor{s.inputs[0].Name: InputBatch(s.inputs[0], s.ds, start, n)}, nil
	}
	// (Whole-input samples fall through to putRow's error, which says --batch 1.)
	if end := s.GroupEnd(start); start+n > end && stackable(s.items[start]) {
		return nil, fmt.Errorf("samples %d-%d have different shapes (%s and %s): batch them by GroupEnd", start, start+n-1,
			s.items[start].key, s.items[end].key)
	}
	// Each sample is copied into the batch as soon as it is loaded, so at most one
	// sample's tensors exist beside the batch (a batch of 8 images at 640x640 would
	// otherwise hold every sample twice).
	out := map[string]*graph.Tensor{}
	for i := 0; i < n; i++ {
		t, err := s.load(s.items[start+i])
		if err != nil {
			return nil, err
		}
		if n == 1 {
			return t, nil
		}
		for _, in := range s.inputs {
			if x := t[in.Name]; x != nil && len(x.Shape) == 0 {
				if err := putScalar(out, in.Name, x, i); err != nil {
					return nil, fmt.Errorf("input %q: %w", in.Name, err)
				}
				continue
			}
			if err := putRow(out, in.Name, t[in.Name], i, n); err != nil {
				return nil, fmt.Errorf("input %q: %w", in.Name, err)
			}
		}
	}
	return out, nil
}

// putRow copies sample t (shape [1, ...]) into row i of the n-row batch out[name],
// which it allocates from the first sample.
func putRow(out map[string]*graph.Tensor, name string, t *graph.Tensor, i, n int) error {
	if t == nil {
		return fmt.Errorf("sample %d has no value", i)
	}
	if t.IsSeq() {
		return fmt.Errorf("the samples are sequences (no batch axis): they run one per batch (--batch 1)")
	}
	if len(t.Shape) == 0 || t.Shape[0] != 1 {
		return fmt.Errorf("the samples are whole inputs of shape %s (a leading size that is not the batch axis): they run one per batch (--batch 1)",
			graph.FormatDims(t.Shape))
	}
	b := out[name]
	if b == nil {
		b = graph.NewTensor(t.DType, append([]int{n}, t.Shape[1:]...))
		out[name] = b
	}
	per := b.Len() / n
	if t.DType != b.DType || t.Len() != per {
		return fmt.Errorf("samples of different types or sizes in one batch")
	}
	reflect.Copy(reflect.ValueOf(b.Data).Slice(i*per, (i+1)*per), reflect.ValueOf(t.Data))
	return nil
}

// putScalar sets the scalar input out[name] from sample i: a scalar is one value
// for the whole batch, so the samples of one batch must agree on it.
func putScalar(out map[string]*graph.Tensor, name string, t *graph.Tensor, i int) error {
	b := out[name]
	if b == nil {
		out[name] = t
		return nil
	}
	if !reflect.DeepEqual(b.Data, t.Data) || b.DType != t.DType {
		return fmt.Errorf("the scalar input differs between sample 0 and sample %d of one batch (a scalar has no batch axis): run them one per batch (--batch 1)", i)
	}
	return nil
}

// row0 returns row r of t as a [1, ...] tensor.
func row0(t *graph.Tensor, r int) *graph.Tensor {
	shape := append([]int{1}, t.Shape[1:]...)
	per := graph.NumElements(shape)
	out := graph.NewTensor(t.DType, shape)
	reflect.Copy(reflect.ValueOf(out.Data), reflect.ValueOf(t.Data).Slice(r*per, (r+1)*per))
	return out
}

// groupItems orders items by shape group (groups in order of first appearance, file
// order within a group) and fills s.items, s.ends and s.Labels.
func (s *Set) groupItems(items []item, labelled bool) {
	first := map[string]int{}
	for _, it := range items {
		if _, ok := first[it.key]; !ok {
			first[it.key] = len(first)
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return first[items[i].key] < first[items[j].key] })
	s.items = items
	for i := range items {
		if i+1 == len(items) || items[i+1].key != items[i].key {
			s.ends = append(s.ends, i+1)
		}
		if labelled {
			s.Labels = append(s.Labels, items[i].label)
		}
	}
}

func shapeKey(ins []*graph.Value, shapes map[string][]int) string {
	var parts []string
	for _, in := range ins {
		parts = append(parts, in.Name+"="+graph.FormatDims(shapes[in.Name]))
	}
	return strings.Join(parts, " ")
}

// target is the shape a sample must fit: the --input-shape binding when given, else
// the declaration.
func target(in *graph.Value, given map[string][]int) (graph.Shape, bool) {
	if s, ok := given[in.Name]; ok {
		return graph.ShapeOf(s...), true
	}
	return in.Shape, in.HasShape
}

// fitSample checks a sample shape (leading 1) against input in; the batch dimension
// is not checked (samples are stacked).
func fitSample(in *graph.Value, given map[string][]int, sample []int, file string) error {
	want, ok := target(in, given)
	if !ok {
		return nil
	}
	src := "the model declares"
	if _, g := given[in.Name]; g {
		src = "--input-shape gives"
	}
	if len(want) != len(sample) {
		return fmt.Errorf("%s: sample shape %s does not fit input %q: %s %s (rank %d, not %d)", file, graph.FormatDims(sample), in.Name, src, want, len(want), len(sample))
	}
	for i := 1; i < len(want); i++ {
		if want[i].Known() && want[i].Size != sample[i] {
			return fmt.Errorf("%s: sample shape %s does not fit input %q: %s %s (dimension %d is %d, not %d)", file, graph.FormatDims(sample), in.Name, src, want, i, sample[i], want[i].Size)
		}
	}
	return nil
}

func openTensors(path string, files []string, o Options, ins []*graph.Value) (*Set, error) {
	s := &Set{Name: filepath.Base(path), Kind: "tensors", inputs: ins}
	var labels map[string][]int
	if lf := filepath.Join(path, "labels.txt"); fileExists(lf) {
		var err error
		if labels, err = readTensorLabels(lf); err != nil {
			return nil, err
		}
	}
	var items []item
	batch := batchAxes(ins, o.Shapes)
	if hasSeqInput(ins) {
		// A file holds one sample (npzseq.go): an array of an input's rank is
		// the whole input, not a batch.
		for k := range batch {
			batch[k] = false
		}
	}
	for _, f := range files {
		if o.Limit > 0 && len(items) >= o.Limit {
			break
		}
		arrays := map[string]npzArrayInfo{}
		if strings.EqualFold(filepath.Ext(f), ".npy") {
			if len(ins) != 1 {
				return nil, fmt.Errorf("%s: a .npy file feeds a single-input model; this model has inputs %s: use .npz files with one array per input",
					f, inputNames(ins))
			}
			h, err := npyFileHeader(f)
			if err != nil {
				return nil, err
			}
			arrays[ins[0].Name] = npzArrayInfo{h.dtype, h.shape}
		} else {
			var err error
			if arrays, err = scanNPZ(f); err != nil {
				return nil, err
			}
		}
		rows := -1
		shapes := map[string][]int{}
		modes := map[string]sampleMode{}
		var seqs map[string]int
		first := ""
		for _, in := range ins {
			if in.Seq {
				if strings.EqualFold(filepath.Ext(f), ".npy") {
					return nil, fmt.Errorf("%s: input %q is a sequence; a .npy file holds one array: give an .npz with its elements as arrays %q, %q, ...",
						f, in.Name, SeqMemberName(in.Name, 0), SeqMemberName(in.Name, 1))
				}
				n, err := seqMembers(arrays, in.Name, f)
				if err != nil {
					return nil, err
				}
				if err := checkSeqSample(arrays, in, n, f); err != nil {
					return nil, err
				}
				if seqs == nil {
					seqs = map[string]int{}
				}
				seqs[in.Name] = n
				continue
			}
			a, ok := arrays[in.Name]
			if !ok {
				return nil, fmt.Errorf("%s: no array for input %q (the archive holds %s; the model's inputs are %s)", f, in.Name,
					strings.Join(quoted(sortedNames(arrays)), ", "), inputNames(ins))
			}
			if err := checkConvertible(a.dtype, in.DType); err != nil {
				return nil, fmt.Errorf("%s: input %q: %w", f, in.Name, err)
			}
			r, sample, mode, err := sampleRows(in, o.Shapes, batch[in.Name], a.shape, f)
			if err != nil {
				return nil, err
			}
			if mode == modeWhole && len(sample) == 0 {
				// A scalar input has no batch axis: every row of the file's
				// other arrays takes it (Batch checks that one batch agrees).
				shapes[in.Name] = sample
				modes[in.Name] = mode
				continue
			}
			if rows >= 0 && r != rows {
				return nil, fmt.Errorf("%s: arrays %q %s and %q %s hold different numbers of samples (%d and %d): an array of the input's rank is "+
					"a batch along axis 0 when the input's leading dimension is symbolic or 1; give a whole input a leading axis of 1 (rank + 1) to make it one sample",
					f, first, graph.FormatDims(arrays[first].shape), in.Name, graph.FormatDims(a.shape), rows, r)
			}
			rows, first = r, in.Name
			shapes[in.Name] = sample
			modes[in.Name] = mode
		}
		if rows < 0 {
			rows = 1 // scalars (or sequences) only
		}
		if len(seqs) > 0 && rows != 1 {
			return nil, fmt.Errorf("%s: the file feeds a sequence input and array %q %s holds %d samples: a file with a sequence holds one sample (give %q the input's rank)",
				f, first, graph.FormatDims(arrays[first].shape), rows, first)
		}
		key := shapeKey(ins, shapes) + seqKey(seqs)
		fl, labelled := labels[filepath.Base(f)]
		if labels != nil && (!labelled || len(fl) != rows) {
			return nil, fmt.Errorf("%s: labels.txt gives %d labels for %s, which holds %d samples", path, len(fl), filepath.Base(f), rows)
		}
		for r := 0; r < rows; r++ {
			if o.Limit > 0 && len(items) >= o.Limit {
				break
			}
			it := item{file: f, row: r, shapes: shapes, modes: modes, seqs: seqs, key: key}
			if labelled {
				it.label = fl[r]
			}
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("data %s: no samples (arrays with 0 rows)", path)
	}
	s.load = s.loadTensors
	s.groupItems(items, labels != nil)
	return s, nil
}

// checkConvertible rejects dtype pairs no value could cross exactly.
func checkConvertible(from, to graph.DType) error {
	if to == graph.Undefined || from == to {
		return nil
	}
	if from == graph.String || to == graph.String {
		return fmt.Errorf("the input takes %s; %s data cannot be converted", to, from)
	}
	return nil
}

func (s *Set) loadTensors(it item) (map[string]*graph.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache.file != it.file {
		var arrays map[string]*graph.Tensor
		if strings.EqualFold(filepath.Ext(it.file), ".npy") {
			t, err := ReadNPY(it.file)
			if err != nil {
				return nil, err
			}
			arrays = map[string]*graph.Tensor{s.inputs[0].Name: t}
		} else {
			var err error
			if arrays, err = ReadNPZ(it.file); err != nil {
				return nil, err
			}
		}
		s.cache.file, s.cache.t = it.file, arrays
	}
	out := map[string]*graph.Tensor{}
	for _, in := range s.inputs {
		if n, ok := it.seqs[in.Name]; ok {
			t, err := loadSeq(s.cache.t, in, n, it.file)
			if err != nil {
				return nil, err
			}
			out[in.Name] = t
			continue
		}
		t := pick(s.cache.t[in.Name], it.modes[in.Name], it.row)
		c, err := ConvertTo(t, in.DType)
		if err != nil {
			return nil, fmt.Errorf("%s: input %q: %w", it.file, in.Name, err)
		}
		out[in.Name] = c
	}
	return out, nil
}

// imageInput is where an image goes in the model input.
type imageInput struct {
	in         *graph.Value
	c          int // 0: from the image (grey -> 1, else 3)
	h, w       int // model input size, 0 when symbolic
	nhwc       bool
	raw        bool // uint8/int8 input fed the pixels
	int8Offset bool
}

func imageLayout(in *graph.Value, given map[string][]int, p *Preprocess) (imageInput, error) {
	ii := imageInput{in: in, raw: in.DType == graph.Uint8 || in.DType == graph.Int8, int8Offset: in.DType == graph.Int8}
	want, ok := target(in, given)
	if !ok {
		ii.nhwc = p.Layout == "nhwc"
		return ii, nil
	}
	if len(want) != 4 {
		return ii, fmt.Errorf("input %q has shape %s; images feed a rank-4 input (NCHW or NHWC)", in.Name, want)
	}
	dim := func(i int) int {
		if want[i].Known() {
			return want[i].Size
		}
		return 0
	}
	switch p.Layout {
	case "nhwc":
		ii.nhwc = true
	case "":
		// An input [N,H,W,C] with C = 1 or 3 and a second dimension that is not is NHWC.
		c1, c3 := dim(1), dim(3)
		ii.nhwc = (c3 == 1 || c3 == 3) && !(c1 == 1 || c1 == 3)
	}
	if ii.nhwc {
		ii.c, ii.h, ii.w = dim(3), dim(1), dim(2)
	} else {
		ii.c, ii.h, ii.w = dim(1), dim(2), dim(3)
	}
	if ii.c != 0 && ii.c != 1 && ii.c != 3 {
		return ii, fmt.Errorf("input %q has shape %s: %d channels; images give 1 (grey) or 3 (RGB)", in.Name, want, ii.c)
	}
	return ii, nil
}

// openImages opens image files; labels, when not nil, labels each of them (class
// folders), otherwise dir/labels.txt does when it exists.
func openImages(dir string, files []string, labels map[string]int, o Options, ins []*graph.Value) (*Set, error) {
	if len(ins) != 1 {
		return nil, fmt.Errorf("the model has %d inputs (%s); images feed single-input models (use .npz files, one array per input)", len(ins), inputNames(ins))
	}
	p, err := ParsePreprocess(o.Preprocess)
	if err != nil {
		return nil, err
	}
	ii, err := imageLayout(ins[0], o.Shapes, p)
	if err != nil {
		return nil, err
	}
	s := &Set{Name: filepath.Base(dir), Kind: "images", inputs: ins, Preprocess: p}
	labelled := labels != nil
	if lf := filepath.Join(dir, "labels.txt"); !labelled && fileExists(lf) {
		labels = map[string]int{}
		names, ls, err := readLabels(lf)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for i, n := range names {
			files = append(files, filepath.Join(dir, n))
			labels[files[i]] = ls[i]
		}
		labelled = true
	}
	fh, fw, fixed, err := p.FixedSize(ii.h, ii.w)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", ins[0].Name, err)
	}
	var items []item
	for _, f := range files {
		if o.Limit > 0 && len(items) >= o.Limit {
			break
		}
		c := ii.c
		h, w := fh, fw
		{
			// Every image's header is read up front (cheap), so a file that does not
			// decode is reported before anything runs.
			cfg, err := decodeConfig(f)
			if err != nil {
				return nil, err
			}
			if !fixed {
				if h, w, err = p.OutputSize(cfg.Height, cfg.Width, ii.h, ii.w); err != nil {
					return nil, err
				}
			}
			if c == 0 {
				c = 3
				if isGrey(cfg.ColorModel) {
					c = 1
				}
			}
		}
		sample := []int{1, c, h, w}
		if ii.nhwc {
			sample = []int{1, h, w, c}
		}
		if err := fitSample(ins[0], o.Shapes, sample, f); err != nil {
			if !fixed {
				err = fmt.Errorf("%w; resize with --preprocess resize=H,W (or letterbox=H,W, or the imagenet / yolo presets)", err)
			}
			return nil, err
		}
		shapes := map[string][]int{ins[0].Name: sample}
		items = append(items, item{file: f, row: -1, shapes: shapes, label: labels[f], key: shapeKey(ins, shapes)})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("data %s: no images", dir)
	}
	s.load = func(it item) (map[string]*graph.Tensor, error) {
		img, err := decodeImage(it.file)
		if err != nil {
			return nil, err
		}
		g, err := p.Geometry(img, ii.h, ii.w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.file, err)
		}
		sh := it.shapes[ins[0].Name]
		c := sh[1]
		if ii.nhwc {
			c = sh[3]
		}
		vals, err := p.Values(g, c, ii.nhwc, ii.raw)
		if err != nil {
			return nil, err
		}
		t := graph.FromFloat32(sh, vals)
		if ii.int8Offset {
			for i := range vals {
				vals[i] -= 128
			}
		}
		t, err = ConvertTo(t, ins[0].DType)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.file, err)
		}
		return map[string]*graph.Tensor{ins[0].Name: t}, nil
	}
	s.groupItems(items, labelled)
	return s, nil
}

func decodeConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return cfg, fmt.Errorf("%s: not a decodable PNG/JPEG image: %w", path, err)
	}
	return cfg, nil
}

// readLabels reads labels.txt: "FILE LABEL" per line, # comments.
func readLabels(lf string) ([]string, []int, error) {
	f, err := os.Open(lf)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var names []string
	var labels []int
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields := strings.Fields(s)
		if len(fields) != 2 {
			return nil, nil, fmt.Errorf("%s:%d: want \"FILE LABEL\", got %q", lf, line, s)
		}
		label, err := strconv.Atoi(fields[1])
		if err != nil || label < 0 {
			return nil, nil, fmt.Errorf("%s:%d: label %q is not a class index", lf, line, fields[1])
		}
		name := filepath.Clean(fields[0])
		if filepath.IsAbs(name) || strings.HasPrefix(name, "..") {
			return nil, nil, fmt.Errorf("%s:%d: %q is outside the data directory", lf, line, fields[0])
		}
		names = append(names, name)
		labels = append(labels, label)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s: no images listed", lf)
	}
	return names, labels, nil
}

func inputNames(ins []*graph.Value) string {
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = strconv.Quote(in.Name)
	}
	return strings.Join(names, ", ")
}

func quoted(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

func isGrey(m color.Model) bool { return m == color.GrayModel || m == color.Gray16Model }

// readTensorLabels reads the labels.txt of a tensor folder: "FILE LABEL..." per line,
// one class index per sample of the file (a batch file lists one per row).
func readTensorLabels(lf string) (map[string][]int, error) {
	b, err := os.ReadFile(lf)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want \"FILE LABEL...\", got %q", lf, i+1, line)
		}
		for _, v := range f[1:] {
			l, err := strconv.Atoi(v)
			if err != nil || l < 0 {
				return nil, fmt.Errorf("%s:%d: label %q is not a class index", lf, i+1, v)
			}
			out[f[0]] = append(out[f[0]], l)
		}
	}
	return out, nil
}
