package quantizer

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/runtime"
)

// pytorchInt8 is PyTorch 1.13's static int8 accuracy on the same networks
// (../shared/models/README.md): no model may do worse.
var pytorchInt8 = map[string]float64{"fmnist_cnn": 0.9208, "fmnist_resnet": 0.9174, "fmnist_mlp": 0.8857}

// The default method keeps at least 99.5% of the float accuracy on every bundled model
// (first 2,000 test images; the full table is TestAccuracyTable).
func TestAccuracyDefaultMethod(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates three models on 2,000 images")
	}
	const n = 2000
	for _, name := range bundledModels {
		t.Run(name, func(t *testing.T) {
			m := loadBundled(t, name)
			r, err := calibrate(t, m, DefaultMethod, 1000).ComputeRanges()
			require.NoError(t, err)
			q, err := Quantize(m, r, QuantOptions{})
			require.NoError(t, err)
			f, _, _ := evalAccuracy(t, m, n, runtime.ModeFloat)
			i8, _, mode := evalAccuracy(t, q, n, runtime.ModeAuto)
			t.Logf("%s: float %.2f %%, %s %s %.2f %%", name, 100*f, DefaultMethod, mode, 100*i8)
			assert.GreaterOrEqual(t, i8, 0.995*f)
		})
	}
}

// TestAccuracyTable measures int8 accuracy of every model x method on all 10,000
// test images, calibrating on 1,000 training images, and prints the Markdown table of
// docs/quantizer.md. It takes minutes, so it runs only on request:
//
//	WARBOY_ACCURACY_TABLE=1 go test -run TestAccuracyTable -v -timeout 60m ./quantizer
func TestAccuracyTable(t *testing.T) {
	if os.Getenv("WARBOY_ACCURACY_TABLE") == "" {
		t.Skip("set WARBOY_ACCURACY_TABLE=1 to measure the accuracy table (minutes)")
	}
	_, test := fmnist(t)
	n := test.N
	var b strings.Builder
	header := "| model | float32 | PyTorch int8 |"
	sep := "| --- | --- | --- |"
	for _, m := range Methods() {
		header += " " + m.String() + " |"
		sep += " --- |"
	}
	fmt.Fprintln(&b, header)
	fmt.Fprintln(&b, sep)
	mode := ""
	for _, name := range bundledModels {
		m := loadBundled(t, name)
		f, _, _ := evalAccuracy(t, m, n, runtime.ModeFloat)
		c := calibrate(t, m, MinMaxAsym, 1000)
		row := fmt.Sprintf("| %s | %.2f | %.2f |", name, 100*f, 100*pytorchInt8[name])
		best := 0.0
		for _, meth := range Methods() {
			r, _, err := c.ComputeRangesFor(meth)
			require.NoError(t, err)
			q, err := Quantize(m, r, QuantOptions{CalibMethod: meth.String(), CalibSamples: 1000})
			require.NoError(t, err)
			acc, _, md := evalAccuracy(t, q, n, runtime.ModeAuto)
			mode = md
			best = max(best, acc)
			row += fmt.Sprintf(" %.2f |", 100*acc)
			t.Logf("%s %s: %.2f %%", name, meth, 100*acc)
		}
		fmt.Fprintln(&b, row)
		assert.GreaterOrEqual(t, best, 0.995*f, "%s: best method below 99.5%% of float", name)
		assert.GreaterOrEqual(t, best+1e-9, pytorchInt8[name], "%s: best method below PyTorch's static int8", name)
	}
	t.Logf("int8 accuracy (%%), all %d test images, executed as %s:\n%s", n, mode, b.String())
}
