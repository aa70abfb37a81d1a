package dataset

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// isImageFile reports whether a file name has a PNG or JPEG extension.
func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// entryIsDir reports whether a directory entry of dir is a directory, following a
// symbolic link (as torchvision's ImageFolder does: class folders are often links).
func entryIsDir(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		return err == nil && st.IsDir()
	}
	return e.IsDir()
}

// holdsData reports whether any of the files is a sample (an image or a tensor file).
func holdsData(files []string) bool {
	for _, f := range files {
		switch strings.ToLower(filepath.Ext(f)) {
		case ".npy", ".npz":
			return true
		}
		if isImageFile(f) {
			return true
		}
	}
	return false
}

// openClassDirs opens a folder of class folders, the layout of torchvision's
// ImageFolder and Keras's image_dataset_from_directory: DIR/CLASS/IMAGE. The class
// index of an image is the position of its folder's name among the folder names in
// sorted (byte) order, as both libraries number them, so a model trained from such
// a folder is scored against the labels it was trained with. Folders whose name
// starts with "." (.ipynb_checkpoints, .git) are not classes.
//
// A directory of one folder is refused: its images are one level down. The images
// are taken one per class in turn (the first image of every class, then
// the second, ...): Options.Limit, --calib-n and the checkpoint images read the
// head of a set, and a head in folder order would be one class.
func openClassDirs(dir string, classes []string, o Options, ins []*graph.Value) (*Set, error) {
	if len(classes) == 1 {
		// One class is no classification set: the images are one level down
		// (images/train2017/*.jpg given as images).
		return nil, fmt.Errorf("data %s holds one folder, %s, and no images: give --data %s", dir, classes[0], filepath.Join(dir, classes[0]))
	}
	sort.Strings(classes)
	perClass := make([][]string, len(classes))
	for i, c := range classes {
		ents, err := os.ReadDir(filepath.Join(dir, c))
		if err != nil {
			return nil, fmt.Errorf("data %s: %w", dir, err)
		}
		var sub []string
		for _, e := range ents {
			switch {
			case entryIsDir(filepath.Join(dir, c), e):
				if !strings.HasPrefix(e.Name(), ".") {
					sub = append(sub, e.Name())
				}
			case isImageFile(e.Name()):
				perClass[i] = append(perClass[i], filepath.Join(dir, c, e.Name()))
			}
		}
		if len(perClass[i]) == 0 {
			if len(sub) > 0 {
				return nil, fmt.Errorf("data %s: folder %s holds folders (%s) and no images: a folder of class folders holds the images one level down; "+
					"if %s is a split of the data, give --data %s", dir, c, strings.Join(firstN(sub, 3), ", "), c, filepath.Join(dir, c))
			}
			return nil, fmt.Errorf("data %s: class folder %s holds no PNG/JPEG images", dir, c)
		}
	}
	longest := 0
	for _, fs := range perClass {
		longest = max(longest, len(fs))
	}
	var files []string
	labels := map[string]int{}
	for k := 0; k < longest; k++ {
		for i, fs := range perClass {
			if k < len(fs) {
				files = append(files, fs[k])
				labels[fs[k]] = i
			}
		}
	}
	s, err := openImages(dir, files, labels, o, ins)
	if err != nil {
		return nil, err
	}
	s.Classes = classes
	return s, nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// CheckClasses refuses a folder of class folders labelling a model that scores k
// classes when the folders are not k: its labels are folder numbers, the model's
// classes only when the folders are all of them (ten ImageNet classes in ten
// folders are labelled 0-9, not their ImageNet indices), and the accuracy would be
// silently wrong. Other sets, and k < 1 (unknown), pass.
func (s *Set) CheckClasses(k int) error {
	if s.Classes == nil || k < 1 || len(s.Classes) == k {
		return nil
	}
	return fmt.Errorf("data %s has %d class folders (labelled in sorted order: %s) but the model scores %d classes: "+
		"folder numbers are the model's classes only when the folders are all of them, in its order; "+
		"label the images with a labels.txt in %s (FILE LABEL per line, FILE as CLASS/IMAGE)",
		s.Name, len(s.Classes), classList(s.Classes), k, s.Name)
}

// classList shows the first class folders with their labels.
func classList(classes []string) string {
	var parts []string
	for i, c := range firstN(classes, 3) {
		if c == "..." {
			parts = append(parts, c)
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", c, i))
	}
	return strings.Join(parts, ", ")
}
