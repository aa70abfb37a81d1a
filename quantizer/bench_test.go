package quantizer

import (
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/warboy-sim/warboy/graph"
)

// BenchmarkCalibration calibrates the bundled CNN with the slowest range search
// (ENTROPY_ASYM: a KL search on both sides of every tensor) on 250 and on 1,000
// images, in batches of 100. Besides time it reports, sampled after every batch (with
// the timer stopped): the peak heap (live data plus that batch's garbage), the live
// heap after a collection, and the memory of the statistics. All three stay flat from
// 250 to 1,000 images, because each batch's activations are folded into fixed-size
// histograms and dropped; only the total allocated (B/op) grows with the images.
//
//	go test -run '^$' -bench Calibrat -benchtime 3x ./quantizer
func BenchmarkCalibration(b *testing.B) {
	m := loadBundled(b, "fmnist_cnn")
	train, _ := fmnist(b)
	for _, n := range []int{250, 1000} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var peak, live uint64
			var hist int
			var search time.Duration
			for i := 0; i < b.N; i++ {
				goruntime.GC()
				var ms goruntime.MemStats
				c, err := NewCalibrator(m, EntropyAsym, CalibOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for s := 0; s < n; s += DefaultCalibBatch {
					if err := c.Collect(map[string]*graph.Tensor{"input": train.Batch(s, min(DefaultCalibBatch, n-s))}); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					goruntime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
					goruntime.GC()
					goruntime.ReadMemStats(&ms)
					live = max(live, ms.HeapAlloc)
					b.StartTimer()
				}
				_, rep, err := c.ComputeRangesFor(EntropyAsym)
				if err != nil {
					b.Fatal(err)
				}
				hist, search = rep.HistogramBytes, rep.SearchTime
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
			b.ReportMetric(float64(hist)/(1<<10), "histograms-KB")
			b.ReportMetric(search.Seconds()*1000, "search-ms")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkRangeSearch times each method's search over the statistics of the CNN
// calibrated on 500 images.
func BenchmarkRangeSearch(b *testing.B) {
	c := calibrate(b, loadBundled(b, "fmnist_cnn"), MinMaxAsym, 500)
	for _, meth := range Methods() {
		b.Run(meth.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := c.ComputeRangesFor(meth); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
