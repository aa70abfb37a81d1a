package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/warboy-sim/warboy/quantizer"
)

// printDetections prints compare's detection comparison (or the note saying why
// outputs that may be detections were not compared as such).
func printDetections(w io.Writer, res *quantizer.Comparison) {
	d := res.Detections
	if d == nil {
		if res.DetectionNote != "" {
			fmt.Fprintf(w, "\ndetections: not compared: %s\n", res.DetectionNote)
		}
		return
	}
	fmt.Fprintf(w, "\ndetections, float32 against int8 (%s; %s):\n", d.Layout, d.MatchedOn)
	fmt.Fprintf(w, "a float32 detection is kept when an int8 detection of the same class overlaps it at IoU >= %g (greedy, highest float score first)", d.IoUThreshold)
	if d.MinScore > 0 {
		fmt.Fprintf(w, "; detections scoring below %g left out", d.MinScore)
	}
	fmt.Fprint(w, "\n\n")
	table(w, []string{"samples", "float32", "int8", "matched", "kept", "added", "missed", "relabelled", "mean IoU", "mean score diff", "max score diff"},
		[][]string{{fmt.Sprint(d.Samples), fmt.Sprint(d.Float), fmt.Sprint(d.Int8), fmt.Sprint(d.Matched),
			fmt.Sprintf("%.2f %%", 100*d.Kept), fmt.Sprint(d.Added), fmt.Sprint(d.Missed), fmt.Sprint(d.Relabelled),
			fmt.Sprintf("%.4f", d.MeanIoU), fmt.Sprintf("%.4g", d.MeanScoreDiff), fmt.Sprintf("%.4g", d.MaxScoreDiff)}})
	fmt.Fprintf(w, "(outputs %s)\n", strings.Join(d.Outputs, ", "))
}
