package quantizer

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector during Calibrate.
//
// With the default GOGC=100 the heap may grow to twice what was live at the last
// collection, and a collection that happens while a batch's activations are live
// (tens to hundreds of MB at 640x640) lets the heap grow by as much again before
// the next one: calibration's peak then depends on when collections happen to fall
// (up to 1.5x the float executor's peak on a 640x640 detector). A fixed tight
// target (GOGC=25) bounds the peak but collects ~15 times per image, and every
// collection empties the executor's buffer pool (a sync.Pool), so the next
// activations are allocated afresh: page faults and zeroing, 10-20 % of the CPU
// time of a calibration.
//
// So the tight target only runs the first batch, which measures what calibration
// needs: the peak of the memory the Go runtime holds (what a memory limit counts),
// sampled each time the calibrator observes a tensor, the executor's high-water
// marks. From the second batch on, GOGC is off and that peak (plus calibMemHeadroom)
// is a memory limit: the collector runs only when the heap nears what the first
// batch needed, and the pooled buffers survive between collections. If a later
// batch needs more (larger samples), the sampled memory passes the limit, and the
// limit is raised at once rather than letting the collector run back to back.
// A user who sets GOGC or GOMEMLIMIT keeps control: nothing is changed.

// calibGCPercent is the collector's target while the first batch runs.
const calibGCPercent = 25

// calibMemHeadroom is the fraction added to the first batch's peak for the limit,
// and calibMemRaise the excess over the limit that raises it (to the sampled
// memory plus calibMemHeadroom).
const (
	calibMemHeadroom = 0.10
	calibMemRaise    = 0.125
)

// calibGC is the process-wide state: the collector settings are global, and
// nested or concurrent calibrations share them; the last one to finish restores
// the user's settings.
var calibGC struct {
	sync.Mutex
	users      int
	savedPct   int
	savedLimit int64
	peak       uint64 // sampled peak while no limit is set
	limit      int64  // 0 while the first batch runs
	samples    []metrics.Sample
}

// gcControl is one Calibrate's handle on calibGC; nil when the user set GOGC or
// GOMEMLIMIT (its methods then do nothing).
type gcControl struct{}

// startCalibGC applies the first batch's target and returns the handle whose stop
// restores the collector settings.
func startCalibGC() *gcControl {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	g := &calibGC
	g.Lock()
	defer g.Unlock()
	if g.users == 0 {
		g.savedPct = debug.SetGCPercent(calibGCPercent)
		g.savedLimit = debug.SetMemoryLimit(-1)
		if g.savedPct >= 0 && g.savedPct < calibGCPercent { // already tighter: the caller's choice
			debug.SetGCPercent(g.savedPct)
		}
		g.peak, g.limit = 0, 0
		g.samples = []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	}
	g.users++
	return &gcControl{}
}

// sample records the memory the runtime holds now; it is called at the
// executor's high-water marks (each observed tensor).
func (c *gcControl) sample() {
	if c == nil {
		return
	}
	g := &calibGC
	g.Lock()
	defer g.Unlock()
	metrics.Read(g.samples)
	mem := g.samples[0].Value.Uint64() - g.samples[1].Value.Uint64()
	if g.limit == 0 {
		g.peak = max(g.peak, mem)
		return
	}
	if float64(mem) > float64(g.limit)*(1+calibMemRaise) {
		// The collector cannot keep the heap under the limit: this batch needs
		// more than the first one did.
		g.limit = int64(math.Min(float64(mem)*(1+calibMemHeadroom), math.MaxInt64))
		debug.SetMemoryLimit(g.limit)
	}
}

// afterBatch switches from the first batch's target to the memory limit.
func (c *gcControl) afterBatch() {
	if c == nil {
		return
	}
	g := &calibGC
	g.Lock()
	defer g.Unlock()
	if g.limit != 0 || g.peak == 0 || g.savedPct < calibGCPercent {
		return // already switched; nothing sampled; or the caller's target is tighter (or off)
	}
	g.limit = int64(math.Min(float64(g.peak)*(1+calibMemHeadroom), math.MaxInt64))
	if g.savedLimit < g.limit { // the caller's limit is lower: keep it
		g.limit = g.savedLimit
	}
	debug.SetMemoryLimit(g.limit)
	debug.SetGCPercent(-1)
}

// stop restores the caller's settings once the last calibration returns.
func (c *gcControl) stop() {
	if c == nil {
		return
	}
	g := &calibGC
	g.Lock()
	defer g.Unlock()
	if g.users--; g.users == 0 {
		debug.SetGCPercent(g.savedPct)
		debug.SetMemoryLimit(g.savedLimit)
		g.limit, g.peak = 0, 0
	}
}
