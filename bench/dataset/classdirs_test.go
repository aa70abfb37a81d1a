package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// classTree writes DIR/CLASS/NAME.png for every class and name count given.
func classTree(t *testing.T, dir string, counts map[string]int) {
	for c, n := range counts {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, c), 0o700))
		for i := 0; i < n; i++ {
			writePNG(t, filepath.Join(dir, c, string(rune('a'+i))+".png"), 4, 4)
		}
	}
}

func TestOpenClassDirs(t *testing.T) {
	dir := t.TempDir()
	// torchvision numbers classes in sorted order: "Coat" < "bag" < "shirt" (bytes).
	classTree(t, dir, map[string]int{"shirt": 3, "bag": 1, "Coat": 2})
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".ipynb_checkpoints"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shirt", "notes.txt"), []byte("not an image"), 0o600))
	img := input("images", graph.Float32, -1, 3, 4, 4)

	s, err := Open(dir, Options{Inputs: []*graph.Value{img}})
	require.NoError(t, err)
	assert.Equal(t, []string{"Coat", "bag", "shirt"}, s.Classes)
	assert.Equal(t, 6, s.Len())
	// One image per class in turn, so a head of the set holds every class.
	assert.Equal(t, []int{0, 1, 2, 0, 2, 2}, s.Labels)
	b, err := s.Batch(0, 6)
	require.NoError(t, err)
	assert.Equal(t, []int{6, 3, 4, 4}, b["images"].Shape)

	head, err := Open(dir, Options{Inputs: []*graph.Value{img}, Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2}, head.Labels)

	// A labels.txt beside the class folders is what labels the set: the folders are
	// not read as classes.
	lab := t.TempDir()
	classTree(t, lab, map[string]int{"x": 1})
	writePNG(t, filepath.Join(lab, "top.png"), 4, 4)
	require.NoError(t, os.WriteFile(filepath.Join(lab, "labels.txt"), []byte("top.png 7\n"), 0o600))
	s, err = Open(lab, Options{Inputs: []*graph.Value{img}})
	require.NoError(t, err)
	assert.Nil(t, s.Classes)
	assert.Equal(t, []int{7}, s.Labels)
}

func TestOpenClassDirsErrors(t *testing.T) {
	img := input("images", graph.Float32, -1, 3, 4, 4)
	splits := t.TempDir()
	classTree(t, filepath.Join(splits, "train"), map[string]int{"bag": 1, "coat": 1})
	classTree(t, filepath.Join(splits, "val"), map[string]int{"bag": 1})
	empty := t.TempDir()
	classTree(t, empty, map[string]int{"bag": 1})
	require.NoError(t, os.MkdirAll(filepath.Join(empty, "coat"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(empty, "coat", "x.npy"), []byte("x"), 0o600))
	sized := t.TempDir()
	classTree(t, sized, map[string]int{"bag": 1, "coat": 1})
	writePNG(t, filepath.Join(sized, "bag", "wide.png"), 8, 4)
	one := t.TempDir()
	classTree(t, one, map[string]int{"train2017": 2})

	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"splits", splits, []string{"folder train holds folders (bag, coat) and no images", "--data " + filepath.Join(splits, "train")}},
		{"empty class", empty, []string{"class folder coat holds no PNG/JPEG images"}},
		{"image size", sized, []string{"wide.png", "resize=H,W"}},
		{"one folder", one, []string{"holds one folder, train2017, and no images: give --data " + filepath.Join(one, "train2017")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.path, Options{Inputs: []*graph.Value{img}})
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestCheckClasses(t *testing.T) {
	dir := t.TempDir()
	classTree(t, dir, map[string]int{"bag": 1, "coat": 1, "dress": 1, "shirt": 1})
	s, err := Open(dir, Options{Inputs: []*graph.Value{input("images", graph.Float32, -1, 3, 4, 4)}})
	require.NoError(t, err)
	for _, tc := range []struct {
		k    int
		want string
	}{
		{4, ""},
		{0, ""}, // unknown class count
		{10, "4 class folders (labelled in sorted order: bag=0, coat=1, dress=2, ...) but the model scores 10 classes"},
		{2, "but the model scores 2 classes"},
	} {
		err := s.CheckClasses(tc.k)
		if tc.want == "" {
			assert.NoError(t, err, "k=%d", tc.k)
			continue
		}
		assert.ErrorContains(t, err, tc.want, "k=%d", tc.k)
	}
	// Sets that are not class folders carry their own labels.
	assert.NoError(t, (&Set{}).CheckClasses(10))
}
