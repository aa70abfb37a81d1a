package kernels

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Counters of the worker pool, to see what happens to each parallel call
// (did a worker take its share, how long after the post, did the caller
// block) rather than guess it from wall times. They cost two clock reads per
// job and are only kept between EnablePoolStats(true) and (false).

var epoch = time.Now()

// nanotime is a monotonic clock in nanoseconds.
func nanotime() int64 { return int64(time.Since(epoch)) }

// ClaimLatencyBuckets are the upper bounds of PoolStats' latency histograms;
// the last bucket holds everything above the last bound.
var ClaimLatencyBuckets = [...]time.Duration{2 * time.Microsecond, 10 * time.Microsecond,
	50 * time.Microsecond, 250 * time.Microsecond, time.Millisecond}

// PoolStats counts what the pool did since the counters were enabled.
type PoolStats struct {
	Jobs    int64 // parallel calls with more than one invocation
	Offered int64 // invocations offered to others than the caller
	// Claims by pool workers, by how long after the post they came: from a
	// worker that was polling, and from one that had to be woken.
	Polled, Woken [len(ClaimLatencyBuckets) + 1]int64
	// ClaimNs is the sum of the post-to-claim latencies of all worker claims.
	ClaimNs int64
	// Caller waits for invocations others had claimed: ended while spinning,
	// and ended blocked (after callerSpin), with their total time.
	SpinWaits, BlockedWaits     int64
	SpinWaitNs, BlockedWaitNs   int64
	Wakes, Parks, Preempted     int64 // parked workers woken by a post; parks; polls ended by a deschedule
	Passive                     int64 // times the pool turned passive (contention)
	PassiveJobs                 int64 // jobs posted while the pool was passive
	PollNs                      int64 // time workers spent polling for a post
	WorkerClaims, CallerClaimed int64 // worker claims (sum of Polled and Woken); Offered - WorkerClaims
}

type poolCounters struct {
	on                        atomic.Bool
	jobs, offered, claimNs    atomic.Int64
	polled, woken             [len(ClaimLatencyBuckets) + 1]atomic.Int64
	spinWaits, blockedWaits   atomic.Int64
	spinWaitNs, blockedWaitNs atomic.Int64
	wakes, parks, preempted   atomic.Int64
	passive, pollNs           atomic.Int64
	passiveJobs               atomic.Int64
}

var stats poolCounters

// EnablePoolStats turns the pool counters on (and resets them) or off.
func EnablePoolStats(on bool) {
	if on {
		ResetPoolStats()
	}
	stats.on.Store(on)
}

// ResetPoolStats sets the pool counters to zero.
func ResetPoolStats() {
	for _, c := range []*atomic.Int64{&stats.jobs, &stats.offered, &stats.claimNs, &stats.spinWaits,
		&stats.blockedWaits, &stats.spinWaitNs, &stats.blockedWaitNs, &stats.wakes, &stats.parks, &stats.preempted, &stats.passive, &stats.pollNs, &stats.passiveJobs} {
		c.Store(0)
	}
	for i := range stats.polled {
		stats.polled[i].Store(0)
		stats.woken[i].Store(0)
	}
}

// ReadPoolStats returns the pool counters.
func ReadPoolStats() PoolStats {
	s := PoolStats{
		Jobs: stats.jobs.Load(), Offered: stats.offered.Load(), ClaimNs: stats.claimNs.Load(),
		SpinWaits: stats.spinWaits.Load(), BlockedWaits: stats.blockedWaits.Load(),
		SpinWaitNs: stats.spinWaitNs.Load(), BlockedWaitNs: stats.blockedWaitNs.Load(),
		Wakes: stats.wakes.Load(), Parks: stats.parks.Load(), Preempted: stats.preempted.Load(),
		Passive: stats.passive.Load(), PollNs: stats.pollNs.Load(), PassiveJobs: stats.passiveJobs.Load(),
	}
	for i := range s.Polled {
		s.Polled[i], s.Woken[i] = stats.polled[i].Load(), stats.woken[i].Load()
		s.WorkerClaims += s.Polled[i] + s.Woken[i]
	}
	s.CallerClaimed = s.Offered - s.WorkerClaims
	return s
}

// String summarises the counters per job.
func (s PoolStats) String() string {
	var b strings.Builder
	pct := func(a, n int64) float64 { return 100 * float64(a) / float64(max(n, 1)) }
	us := func(ns, n int64) float64 { return float64(ns) / 1e3 / float64(max(n, 1)) }
	fmt.Fprintf(&b, "%d jobs, %d invocations offered: %.1f%% run by a worker (mean post→claim %.1f µs), %.1f%% by the caller\n",
		s.Jobs, s.Offered, pct(s.WorkerClaims, s.Offered), us(s.ClaimNs, s.WorkerClaims), pct(s.CallerClaimed, s.Offered))
	hist := func(name string, h []int64) {
		fmt.Fprintf(&b, "  %s claims by post→claim latency:", name)
		for i, v := range h {
			if i < len(ClaimLatencyBuckets) {
				fmt.Fprintf(&b, " <%v %d", ClaimLatencyBuckets[i], v)
			} else {
				fmt.Fprintf(&b, " more %d", v)
			}
		}
		b.WriteByte('\n')
	}
	hist("polling-worker", s.Polled[:])
	hist("woken-worker", s.Woken[:])
	fmt.Fprintf(&b, "  caller waits: %d ended spinning (mean %.1f µs), %d blocked (mean %.1f µs); wakes %d, parks %d, polls ended by a deschedule %d, turned passive %d (%.1f%% of the jobs posted while passive); workers polled %.2f ms",
		s.SpinWaits, us(s.SpinWaitNs, s.SpinWaits), s.BlockedWaits, us(s.BlockedWaitNs, s.BlockedWaits), s.Wakes, s.Parks, s.Preempted, s.Passive, pct(s.PassiveJobs, s.Jobs), float64(s.PollNs)/1e6)
	return b.String()
}

func latencyBucket(ns int64) int {
	for i, b := range ClaimLatencyBuckets {
		if ns < int64(b) {
			return i
		}
	}
	return len(ClaimLatencyBuckets)
}

// claimed records a worker's claim of an invocation of j.
func (c *poolCounters) claimed(j *poolJob, woken bool) {
	if !c.on.Load() || j.posted == 0 {
		return
	}
	d := nanotime() - j.posted
	c.claimNs.Add(d)
	if woken {
		c.woken[latencyBucket(d)].Add(1)
	} else {
		c.polled[latencyBucket(d)].Add(1)
	}
}

// polling records a worker's polling time.
func (c *poolCounters) polling(ns int64) {
	if c.on.Load() {
		c.pollNs.Add(ns)
	}
}

// callerWait records how long a caller waited for the invocations others
// had claimed.
func (c *poolCounters) callerWait(ns int64, blocked bool) {
	if !c.on.Load() {
		return
	}
	if blocked {
		c.blockedWaits.Add(1)
		c.blockedWaitNs.Add(ns)
	} else {
		c.spinWaits.Add(1)
		c.spinWaitNs.Add(ns)
	}
}
