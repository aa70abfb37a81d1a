package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Worker pool. A runParallel call posts a job in a slot that the pool
// workers poll, runs its own share, takes the shares nobody has claimed, and
// then waits for the shares workers took by spinning on a counter (it blocks
// only after callerSpin). While the workers are awake nothing on the
// critical path goes through the Go scheduler.
//
// Why: the earlier pool handed jobs over a channel to workers that spun
// (with runtime.Gosched) for 30 µs after a job and then blocked on the
// channel, and the caller waited in a WaitGroup. On MobileNetV2 at 2 threads
// the executor's parallel calls are 54 per inference, a few tens of µs of
// caller work apart, so the worker had parked before nearly every job. The
// caller's channel send readied it into the caller's P (runnext), from where
// an idle P's M, first woken from a futex sleep, had to steal it: in an
// execution trace (load 8, 432 jobs) 269 of 280 such wake-ups ran on the
// other P, after a median 82 µs; the caller blocked in wg.Wait in only 10
// jobs. The pool counters (EnablePoolStats, runtime/bench_pool_test.go)
// agree: a worker took 21-46% of the shares offered (MobileNetV2 and
// EfficientNet-B0, load 6-17), almost all after a wake-up, 50-250 µs after
// the post; the caller ran the rest itself, so the second thread burnt CPU
// without halving the caller's. With the workers polling, a worker claimed
// 523 of 1,620 shares within 2 µs of the post even at load 6.6. Figures in
// docs/runtime.md ("The thread pool's wait policy").
//
// While a Session run is in progress (the executor brackets it with
// KeepWorkersAwake) idle workers keep polling for activeSpin after their last
// job, like the active wait policy of an OpenMP runtime or ONNX Runtime's
// pool between operators; otherwise, and once the run ends, they poll for
// idleSpin and then park. On a loaded machine a polling worker is the thread
// the OS preempts, often after it has claimed a chunk the caller then waits
// for (the earlier design measured MobileNetV2 at load 3.8: a 1 ms spin took
// p50 from 12 to 20 ms; this one, without the fallback below, saw caller
// waits of 5 ms at load 6). So the pool turns passive (see contended) when a
// polling worker finds, between two clock reads, that it was descheduled for
// more than preemptGap: KeepWorkersAwake is then ignored and callers block at
// once, which is the earlier behaviour, for passiveFor, doubling up to
// passiveMax while the contention lasts (see nextBackoff).
const (
	idleSpin   = 30 * time.Microsecond
	activeSpin = 5 * time.Millisecond
	callerSpin = 200 * time.Microsecond
	preemptGap = 200 * time.Microsecond
	passiveFor = 50 * time.Millisecond
	passiveMax = 5 * time.Second
	poolSlots  = 32
	pollBatch  = 128 // polls between clock reads
)

// passiveSustained is the shortest passive period once contention has
// outlasted one (see nextBackoff).
const passiveSustained = 500 * time.Millisecond

// poolJob is one runParallel call: n-1 invocations of fn (the caller runs
// the first), claimed one at a time by pool workers or, once it is done with
// its own, by the caller. A worker that is asleep or descheduled when the job
// is posted therefore never delays it: the caller runs the invocations nobody
// has claimed instead of waiting for that worker to wake up, and a worker
// that comes late finds nothing left and moves on.
type poolJob struct {
	fn        func(id int)
	n         int          // invocations: the caller's (id 0) and n-1 others
	unclaimed atomic.Int64 // invocations nobody has taken
	left      atomic.Int64 // invocations taken by others and not finished
	wg        sync.WaitGroup
	posted    int64 // monotonic ns, when statistics are on
}

// claim takes one unclaimed invocation and returns its id (1 for the
// first claimed, n-1 for the last).
func (j *poolJob) claim() (int, bool) {
	for {
		u := j.unclaimed.Load()
		if u <= 0 {
			return 0, false
		}
		if j.unclaimed.CompareAndSwap(u, u-1) {
			return j.n - int(u), true
		}
	}
}

// runOne runs claimed invocation id.
func (j *poolJob) runOne(id int) {
	j.fn(id)
	j.left.Add(-1)
	j.wg.Done()
}

// runClaimed runs the invocations this goroutine can claim.
func (j *poolJob) runClaimed() {
	for id, ok := j.claim(); ok; id, ok = j.claim() {
		j.runOne(id)
	}
}

// wait returns when every invocation has finished: it spins while the
// others run the invocations they claimed, and blocks after callerSpin, or
// at once while the pool is passive (a worker that holds a chunk on an
// oversubscribed machine is likely descheduled, and a spinning caller takes
// a core it could run on).
func (j *poolJob) wait() {
	if j.left.Load() == 0 {
		return
	}
	start := nanotime()
	for i := 1; start >= pool.passive.Load(); i++ {
		if j.left.Load() == 0 {
			stats.callerWait(nanotime()-start, false)
			return
		}
		if i%pollBatch == 0 && nanotime()-start > int64(callerSpin) {
			break
		}
	}
	j.wg.Wait()
	// A long wait here is no sign of contention: the first runs of a
	// process (page faults) and large uneven chunks cause them too, and
	// taking them for one kept the pool passive through whole benchmarks.
	stats.callerWait(nanotime()-start, true)
}

// nextBackoff is the passive period after one of prev (0: none yet) that
// ended sinceEnd nanoseconds before the new contention signal. A signal that
// comes soon after the previous period (within 2·prev) means sustained
// contention, as on an oversubscribed machine, where a worker polling again
// is descheduled within milliseconds: the period is then at least
// passiveSustained and doubles up to passiveMax. A signal that comes later
// is an isolated one (another process woke for a moment, a garbage
// collection) and makes the pool passive for passiveFor only. Before, the
// first period was 500 ms and the period doubled whenever signals came
// within 10 s of each other, so a deschedule every few seconds kept the pool
// passive for seconds: on a lightly loaded machine a small model's benchmark
// then ran with a worker woken for every parallel call, 50-250 µs late
// (docs/runtime.md, "2 threads on small models").
func nextBackoff(prev time.Duration, sinceEnd int64) time.Duration {
	if prev == 0 || sinceEnd > 2*int64(prev) {
		return passiveFor
	}
	return min(max(2*prev, passiveSustained), passiveMax)
}

// contended makes the pool passive: KeepWorkersAwake is ignored and callers
// block at once, for a period that nextBackoff chooses.
func contended(now int64) {
	pool.contention.Lock()
	defer pool.contention.Unlock()
	end := pool.passive.Load()
	if now < end {
		return
	}
	pool.backoff = nextBackoff(pool.backoff, now-end)
	pool.passive.Store(now + int64(pool.backoff))
	stats.passive.Add(1)
}

type poolWorker struct {
	sleeping atomic.Bool
	wake     chan struct{}
	_        [48]byte // keep workers' flags on separate cache lines
}

var pool struct {
	once     sync.Once
	slots    [poolSlots]atomic.Pointer[poolJob]
	gen      atomic.Uint64 // bumped by every post
	active   atomic.Int32  // KeepWorkersAwake holds
	sleepers atomic.Int32
	passive  atomic.Int64 // nanotime until which the pool is passive (see contended)
	// contention guards backoff.
	contention sync.Mutex
	backoff    time.Duration
	workers    []*poolWorker
}

func startPool() {
	n := max(runtime.GOMAXPROCS(0)-1, 1)
	pool.workers = make([]*poolWorker, n)
	for i := range pool.workers {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		pool.workers[i] = w
		go w.loop(i)
	}
}

// KeepWorkersAwake tells the pool that parallel calls are about to follow
// each other (a Session run): until release is called, idle workers keep
// polling for new jobs for up to activeSpin instead of idleSpin before they
// park. Holds nest and may overlap from several goroutines.
func KeepWorkersAwake() (release func()) {
	pool.active.Add(1)
	var once sync.Once
	return func() { once.Do(func() { pool.active.Add(-1) }) }
}

// WakeWorkers wakes up to n parked workers ahead of the parallel calls a
// run is about to make (call it with KeepWorkersAwake held, so that they
// poll for activeSpin, not idleSpin). A parked worker takes 50-250 µs to
// run again after its wake-up (see above), and the first parallel call of
// a run was the one to wait for it: the stem of a CNN at 2 threads took
// 9 % longer than at 1 after the worker parked between runs (docs/
// runtime.md, "int8 ResNet-50 VNNI share and stems (twenty-second
// session)"). Woken at the run's start, the worker wakes while the steps
// before the first parallel call run, and parks again after the run as
// before: no CPU is spent between runs. Nothing is woken while the pool
// is passive (the machine is oversubscribed: see contended).
func WakeWorkers(n int) {
	pool.once.Do(startPool)
	if n <= 0 || nanotime() < pool.passive.Load() {
		return
	}
	wakeWorkers(min(n, len(pool.workers)))
}

// post puts j in a free slot and returns its index, or -1 if all are taken
// (the caller then runs every invocation itself).
func post(j *poolJob) int {
	for i := range pool.slots {
		if pool.slots[i].Load() == nil && pool.slots[i].CompareAndSwap(nil, j) {
			pool.gen.Add(1)
			return i
		}
	}
	return -1
}

// wakeWorkers wakes up to n parked workers.
func wakeWorkers(n int) {
	if pool.sleepers.Load() == 0 {
		return
	}
	for _, w := range pool.workers {
		if n == 0 {
			return
		}
		if w.sleeping.CompareAndSwap(true, false) {
			pool.sleepers.Add(-1)
			w.wake <- struct{}{}
			stats.wakes.Add(1)
			n--
		}
	}
}

// take claims one invocation of a posted job, scanning the slots from i,
// and returns the job and the invocation's id.
func take(i int) (*poolJob, int) {
	for k := range poolSlots {
		j := pool.slots[(i+k)%poolSlots].Load()
		if j == nil {
			continue
		}
		if id, ok := j.claim(); ok {
			return j, id
		}
	}
	return nil, 0
}

func (w *poolWorker) loop(id int) {
	woken := false
	for {
		g := pool.gen.Load()
		if j, jid := take(id); j != nil {
			stats.claimed(j, woken)
			woken = false
			j.runOne(jid)
			continue
		}
		if w.poll(g) {
			woken = false
			continue
		}
		w.park(id)
		woken = true
	}
}

// poll waits for a post after generation g for up to idleSpin (activeSpin while a run
// holds the pool awake). It reports false when the worker should park: the
// time is up, or the worker was descheduled (the machine is oversubscribed).
//
// It yields (runtime.Gosched) first and at every clock read: a caller that
// blocked waiting for this worker's share was readied into this worker's P
// (runnext), and would otherwise wait there until another P steals it, while
// the worker polls.
func (w *poolWorker) poll(g uint64) bool {
	runtime.Gosched()
	start := nanotime()
	last := start
	for i := 1; ; i++ {
		if pool.gen.Load() != g {
			stats.polling(nanotime() - start)
			return true
		}
		if i%pollBatch != 0 {
			continue
		}
		now := nanotime()
		if now-last > int64(preemptGap) {
			stats.preempted.Add(1)
			contended(now)
			stats.polling(now - start)
			return false
		}
		limit := idleSpin
		if pool.active.Load() > 0 && now >= pool.passive.Load() {
			limit = activeSpin
		}
		if now-start > int64(limit) {
			stats.polling(now - start)
			return false
		}
		runtime.Gosched()
		last = nanotime() // the time other goroutines ran is no deschedule
	}
}

// park blocks until a post wakes the worker. The sleeping flag is set before
// the last look at the slots and a post bumps the slot before it reads the
// flags, so a job posted meanwhile is seen by one side or the other.
func (w *poolWorker) park(id int) {
	w.sleeping.Store(true)
	pool.sleepers.Add(1)
	for i := range pool.slots {
		if j := pool.slots[i].Load(); j != nil && j.unclaimed.Load() > 0 {
			if w.sleeping.CompareAndSwap(true, false) {
				pool.sleepers.Add(-1)
			} else {
				<-w.wake // a post took the flag and sends a token
			}
			return
		}
	}
	stats.parks.Add(1)
	<-w.wake
}

// runParallel runs fn n times concurrently: on the caller's goroutine and on
// pool workers (extra goroutines beyond the pool), and returns when all n
// have finished. Invocations no worker has started when the caller is done
// with its own run on the caller. A panic in fn on the caller propagates to
// the caller; one on a worker crashes the program, as in any goroutine.
func runParallel(n int, fn func()) {
	runParallelID(n, func(int) { fn() })
}

// runParallelID is runParallel with each invocation told its id in [0, n):
// 0 is the caller's own, which it runs as soon as the job is posted; the
// others are numbered in the order they are claimed (a worker's, or the
// caller's for those nobody took). So with two threads the caller's
// goroutine is always invocation 0, call after call, whichever worker is
// faster to arrive: the ground of parallelChunks' shares.
func runParallelID(n int, fn func(id int)) {
	if n <= 1 {
		fn(0)
		return
	}
	pool.once.Do(startPool)
	j := &poolJob{fn: fn, n: n}
	j.unclaimed.Store(int64(n - 1))
	j.left.Store(int64(n - 1))
	j.wg.Add(n - 1)
	if stats.on.Load() {
		j.posted = nanotime()
		stats.jobs.Add(1)
		if j.posted < pool.passive.Load() {
			stats.passiveJobs.Add(1)
		}
		stats.offered.Add(int64(n - 1))
	}
	if slot := post(j); slot >= 0 {
		defer pool.slots[slot].Store(nil)
		wakeWorkers(min(n-1, len(pool.workers)))
	}
	for range n - 1 - len(pool.workers) {
		go j.runClaimed()
	}
	fn(0)
	j.runClaimed()
	j.wait()
}

// parallelFor runs fn(lo, hi) over [0, n) split into at most threads contiguous
// chunks whose boundaries are multiples of align (except the last).
func parallelFor(n, align, threads int, fn func(lo, hi int)) {
	align = max(align, 1)
	units := (n + align - 1) / align
	threads = min(threads, units)
	if threads <= 1 {
		fn(0, n)
		return
	}
	runParallelID(threads, func(t int) {
		// Chunk t to invocation t: the first to the caller, as in
		// parallelChunks.
		lo := min(units*t/threads*align, n)
		hi := min(units*(t+1)/threads*align, n)
		fn(lo, hi)
	})
}

// parallelChunks runs worker on up to threads goroutines (the caller's
// included); each worker pulls chunks [lo, hi) of [0, n) of the given size
// until none is left. The chunks are dealt in contiguous shares of about
// equal length, share 0 (the first chunks) to the caller and share s to
// invocation s of runParallelID: a thread takes its own share's chunks from
// the front, then the chunks left in the other shares from their backs.
//
// Why shares and not one counter (twenty-first session): the callers'
// chunks are rows of an output (pixels of a channels-last map, rows of a
// tensor), and with a shared counter the two threads took alternate chunks,
// so the next layer's thread read about half of its input lines from the
// other core's cache, at about a memory access per line on the 2-vCPU AMD
// machine (docs/runtime.md, "Named set at one and two threads on AMD": a
// grouped layer at 2 threads took 252-277 µs on an input written in
// alternate chunks, 191 µs on one written in the same halves). With shares,
// the caller's rows are the top part of every map of the run and the
// worker's the bottom part, layer after layer, so a thread mostly reads
// what it wrote. Stealing from the back keeps the counter's balancing: a
// late or descheduled worker's chunks run on the caller, the last first.
func parallelChunks(n, chunk, threads int, worker func(next func() (lo, hi int, ok bool))) {
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	threads = max(1, min(threads, chunks))
	if threads == 1 {
		c := 0
		worker(func() (int, int, bool) {
			if c >= chunks {
				return 0, 0, false
			}
			c++
			return (c - 1) * chunk, min(c*chunk, n), true
		})
		return
	}
	sh := newShares(chunks, threads)
	runParallelID(threads, func(id int) {
		next := sh.next(id, threads)
		worker(func() (int, int, bool) {
			c, ok := next()
			if !ok {
				return 0, 0, false
			}
			return c * chunk, min((c+1)*chunk, n), true
		})
	})
}

// ParallelRange runs fn over [0, n) in contiguous chunks [lo, hi) on up to
// threads threads of the pool (the caller's included), for the executor's
// loops that are not kernels of this package (elementwise passes, pooling,
// layout conversions, copies). A chunk has at least grain units and there are
// about four per thread, claimed one at a time, so that a thread that starts
// late (a worker woken from sleep or descheduled by the OS) still takes part
// and the caller never waits for it: the ranges nobody claimed run on the
// caller. Fewer than 2·grain units run inline. threads <= 0 means GOMAXPROCS.
func ParallelRange(n, grain, threads int, fn func(lo, hi int)) {
	grain = max(grain, 1)
	threads = resolveThreads(threads)
	if threads <= 1 || n < 2*grain {
		fn(0, n)
		return
	}
	chunk := max(grain, (n+4*threads-1)/(4*threads))
	parallelChunks(n, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			fn(lo, hi)
		}
	})
}

// eachBand walks the output rows that next hands out (row r = n·oh + y over
// all images) in bands of at most chunk rows within one image, calling
// band(n, y0, y1) for the rows [y0, y1) of image n.
func eachBand(next func() (int, int, bool), oh, chunk int, band func(n, y0, y1 int)) {
	lo, hi, ok := next()
	for r0 := lo; ok; {
		if r0 >= hi {
			if lo, hi, ok = next(); !ok {
				break
			}
			r0 = lo
		}
		n, y0 := r0/oh, r0%oh
		y1 := min(y0+chunk, oh, y0+hi-r0)
		band(n, y0, y1)
		r0 += y1 - y0
	}
}
