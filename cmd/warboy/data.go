package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// dataHelp is the usage text of --data / --calib-data.
const dataHelp = "IDX files, a folder of PNG/JPEG images (labels.txt optional; see --preprocess) or of class folders of them (DIR/CLASS/IMAGE, labelled in sorted folder order), " +
	"a folder of .npy (one input) / .npz (one array per input name) tensors, or one .npy/.npz file"

// addPreprocessFlag registers --preprocess (image folders only).
func addPreprocessFlag(fs *flag.FlagSet) *string {
	return fs.String("preprocess", "", dataset.PreprocessHelp+" (default pixel)")
}

// modelInputs are the graph inputs that are not initializers (what data feeds).
func modelInputs(g *graph.Graph) []*graph.Value {
	var out []*graph.Value
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] == nil {
			out = append(out, in)
		}
	}
	return out
}

// openData opens a data set for model m (see dataset.Open).
func openData(path, split, preprocess string, m *graph.Model, shapes inputShapes, limit int) (*dataset.Set, error) {
	if _, err := os.Stat(path); err != nil && filepath.ToSlash(filepath.Clean(path)) == defaultData {
		// The default of --data / --calib-data is the bundled Fashion-MNIST set, found
		// from the working directory or beside the binary; a real model needs its own.
		return nil, fmt.Errorf("no data given, and the bundled Fashion-MNIST set (%s, the default) is not here: "+
			"give --data (or --calib-data) DIR: %s", defaultData, dataHelp)
	}
	return dataset.Open(path, dataset.Options{Split: split, Inputs: modelInputs(m.Graph), Shapes: shapes,
		Preprocess: preprocess, Limit: limit})
}

// scoredLabels returns the labels a data set scores m's first output against,
// refusing class folders whose number is not the classes that output declares
// (dataset.Set.CheckClasses): the accuracy would be silently wrong.
func scoredLabels(set *dataset.Set, m *graph.Model) ([]int, error) {
	if outs := m.Graph.Outputs; len(outs) > 0 && outs[0].HasShape && len(outs[0].Shape) == 2 && outs[0].Shape[1].Known() {
		if err := set.CheckClasses(outs[0].Shape[1].Size); err != nil {
			return nil, err
		}
	}
	return set.Labels, nil
}
