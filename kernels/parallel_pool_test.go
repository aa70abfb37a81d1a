package kernels

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goroutineID returns the running goroutine's number, read from the first
// line of its stack trace ("goroutine 7 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:goruntime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		panic("unexpected stack header: " + string(buf))
	}
	return f[1]
}

// countInvocations runs runParallel(n) and returns how many times fn ran.
func countInvocations(n int) int64 {
	var calls atomic.Int64
	runParallel(n, func() { calls.Add(1) })
	return calls.Load()
}

// TestPoolRunsEachInvocationOnce repeats calls of every size, with the
// workers polling (KeepWorkersAwake) and parking between calls, from more
// concurrent callers than the pool has slots (the overflow runs on the
// callers), and checks each call ran fn exactly n times and the counters add
// up.
func TestPoolRunsEachInvocationOnce(t *testing.T) {
	EnablePoolStats(true)
	defer EnablePoolStats(false)
	for _, awake := range []bool{false, true} {
		release := func() {}
		if awake {
			release = KeepWorkersAwake()
		}
		var wg sync.WaitGroup
		var bad atomic.Int64
		for g := 0; g < poolSlots+8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < 50; r++ {
					for _, n := range []int{1, 2, 3, 5, 17} {
						if c := countInvocations(n); c != int64(n) {
							bad.Add(1)
						}
					}
					if r%10 == 0 {
						time.Sleep(100 * time.Microsecond) // let workers park
					}
				}
			}()
		}
		wg.Wait()
		release()
		release() // idempotent
		require.Zero(t, bad.Load(), "awake=%v", awake)
	}
	s := ReadPoolStats()
	require.Positive(t, s.Jobs)
	require.Equal(t, s.Offered, s.WorkerClaims+s.CallerClaimed)
	require.GreaterOrEqual(t, s.CallerClaimed, int64(0))
	t.Log(s)
	for i := range pool.slots {
		require.Nil(t, pool.slots[i].Load(), "slot %d still holds a job", i)
	}
}

// TestPoolNestedCalls runs parallel calls inside parallel calls, three deep,
// from several goroutines: a worker that waits for a nested call's shares
// never waits for an invocation nobody runs.
func TestPoolNestedCalls(t *testing.T) {
	defer KeepWorkersAwake()()
	var wg sync.WaitGroup
	var leaves atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runParallel(3, func() {
				runParallel(2, func() {
					parallelFor(100, 1, 4, func(lo, hi int) { leaves.Add(int64(hi - lo)) })
				})
			})
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("nested parallel calls did not finish")
	}
	require.Equal(t, int64(4*3*2*100), leaves.Load())
}

// TestPoolWorkersParkAfterRun checks that the workers park once no run holds
// them awake, and that a call after they parked still runs on a worker when
// the caller's share lasts long enough for one to wake.
func TestPoolWorkersParkAfterRun(t *testing.T) {
	release := KeepWorkersAwake()
	require.Equal(t, int64(2), countInvocations(2))
	release()
	require.Eventually(t, func() bool { return int(pool.sleepers.Load()) == len(pool.workers) },
		10*time.Second, time.Millisecond, "workers did not park")
	var onWorker atomic.Bool
	var first atomic.Bool
	caller := make(chan struct{})
	runParallel(2, func() {
		if first.CompareAndSwap(false, true) {
			// The caller's share: wait (bounded) for the other invocation.
			select {
			case <-caller:
			case <-time.After(10 * time.Second):
			}
			return
		}
		onWorker.Store(true)
		close(caller)
	})
	require.True(t, onWorker.Load(), "a woken worker ran the second invocation")
}

// TestPoolCallerPanicPropagates: a panic in the caller's invocation reaches
// the caller (it is not swallowed), and the pool keeps working after it.
func TestPoolCallerPanicPropagates(t *testing.T) {
	for range 3 {
		// Only the caller's invocation panics: on a loaded machine a worker
		// can claim its share before the caller starts its own, and a panic
		// there would (rightly) end the test binary.
		caller := goroutineID()
		require.PanicsWithValue(t, "boom", func() {
			runParallel(2, func() {
				if goroutineID() == caller {
					panic("boom")
				}
			})
		})
	}
	require.Equal(t, int64(3), countInvocations(3))
	for i := range pool.slots {
		require.Nil(t, pool.slots[i].Load(), "slot %d leaked by a panicking caller", i)
	}
}

// TestPoolWorkerPanicCrashes: a panic on a pool worker is not swallowed; it
// ends the program like a panic in any goroutine (run in a child process).
func TestPoolWorkerPanicCrashes(t *testing.T) {
	if os.Getenv("WARBOY_POOL_PANIC_CHILD") == "1" {
		var first atomic.Bool
		started := make(chan struct{})
		runParallel(2, func() {
			if first.CompareAndSwap(false, true) {
				<-started // the caller's share: the other invocation must run on a worker
				time.Sleep(10 * time.Second)
				return
			}
			close(started)
			panic("worker boom")
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPoolWorkerPanicCrashes$")
	cmd.Env = append(os.Environ(), "WARBOY_POOL_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child must fail")
	require.Contains(t, string(out), "worker boom")
}

// TestPoolContentionBackoff: an isolated contention signal makes the pool
// passive for passiveFor; one soon after a period ends (sustained
// contention) for at least passiveSustained, doubling up to passiveMax;
// while passive, every invocation still runs once.
func TestPoolContentionBackoff(t *testing.T) {
	d := nextBackoff(0, 0)
	require.Equal(t, passiveFor, d, "the first signal")
	want := passiveSustained
	for range 12 {
		d = nextBackoff(d, int64(d)) // sustained: a signal one period after the last ended
		if !assert.Equal(quietT{}, want, d) {
			require.Equal(t, want, d)
		}
		want = min(2*want, passiveMax)
	}
	require.Equal(t, passiveMax, d)
	require.Equal(t, passiveFor, nextBackoff(passiveMax, 2*int64(passiveMax)+1), "isolated after the longest period")
	require.Equal(t, passiveFor, nextBackoff(passiveFor, 2*int64(passiveFor)+1), "isolated after the first period")
	require.Equal(t, passiveSustained, nextBackoff(passiveFor, 2*int64(passiveFor)))

	resetPassive() // earlier tests may have made the pool passive
	defer resetPassive()
	now := nanotime()
	contended(now)
	first := pool.passive.Load()
	require.Equal(t, now+int64(passiveFor), first, "an isolated signal: passive for passiveFor")
	contended(first - 1) // while passive: ignored
	require.Equal(t, first, pool.passive.Load())
	contended(first + 1) // right after: sustained
	second := pool.passive.Load()
	require.Equal(t, first+1+int64(passiveSustained), second)
	contended(second + 2*int64(passiveSustained) + 1) // long after: isolated
	require.Equal(t, second+2*int64(passiveSustained)+1+int64(passiveFor), pool.passive.Load())
	EnablePoolStats(true)
	defer EnablePoolStats(false)
	require.Equal(t, int64(5), countInvocations(5))
	st := ReadPoolStats()
	require.Positive(t, st.Jobs)
	require.Equal(t, st.Jobs, st.PassiveJobs, "every job was posted while passive")
}

// resetPassive makes the pool active with no passive period behind it.
func resetPassive() {
	pool.contention.Lock()
	defer pool.contention.Unlock()
	pool.passive.Store(0)
	pool.backoff = 0
}

// TestPoolPassiveShare: the share of the time the pool is passive when
// polling workers see a deschedule every 2 s (a lightly loaded machine: another
// process wakes now and then) stays at passiveFor per signal, while a
// deschedule soon after every passive period (an oversubscribed machine)
// keeps it passive. Before, the first pattern made the pool passive most of
// the time: 0.5 s, then doubling for every signal within 10 s of the last.
func TestPoolPassiveShare(t *testing.T) {
	resetPassive()
	defer resetPassive()
	// passiveShare feeds contended the signal times base+at(i) for signals
	// and returns the passive time over the span.
	passiveShare := func(signals int, at func(i int, end int64) int64) float64 {
		resetPassive()
		base := nanotime()
		var passive, last int64
		for i := range signals {
			now := base + at(i, last-base)
			before := pool.passive.Load()
			contended(now)
			if end := pool.passive.Load(); end != before {
				passive += end - now
				last = end
			}
		}
		return float64(passive) / float64(max(last-base, 1))
	}
	isolated := passiveShare(30, func(i int, _ int64) int64 { return int64(i) * int64(2*time.Second) })
	require.Less(t, isolated, 0.05, "a deschedule every 2 s")
	sustained := passiveShare(30, func(i int, end int64) int64 { return end + int64(time.Millisecond) })
	require.Greater(t, sustained, 0.99, "a deschedule 1 ms after every passive period")
}
