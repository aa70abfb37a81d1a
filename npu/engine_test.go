package npu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func none() task { return task{queue: -1, pool: -1, ring: -1} }

func TestEngineQueueRunsInProgramOrder(t *testing.T) {
	e := &engine{dramBW: 1}
	q := e.addQueue()
	a := none()
	a.queue, a.dur = q, 10
	b := none()
	b.queue, b.dur = q, 5
	ia, ib := e.add(a), e.add(b)
	// b is ready at once but must wait for a: the queue is in order.
	require.NoError(t, e.run())
	require.Equal(t, 0.0, e.tasks[ia].start)
	require.Equal(t, 10.0, e.tasks[ib].start)
	require.Equal(t, 15.0, e.tasks[ib].end)
}

func TestEngineDependenciesAndPools(t *testing.T) {
	tests := []struct {
		name    string
		servers int
		want    []float64 // end times of three 10 ns tasks on the pool
	}{
		{"one server serialises", 1, []float64{10, 20, 30}},
		{"two servers overlap", 2, []float64{10, 10, 20}},
		{"enough servers", 3, []float64{10, 10, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &engine{dramBW: 1}
			p := e.addPool(tc.servers)
			var ids []int32
			for i := 0; i < 3; i++ {
				x := none()
				x.pool, x.dur = p, 10
				ids = append(ids, e.add(x))
			}
			after := none()
			after.dur = 1
			ia := e.add(after)
			for _, id := range ids {
				e.dep(id, ia)
			}
			require.NoError(t, e.run())
			for i, id := range ids {
				require.InDelta(t, tc.want[i], e.tasks[id].end, 1e-9)
			}
			require.InDelta(t, tc.want[2]+1, e.tasks[ia].end, 1e-9)
		})
	}
}

func TestEngineDRAMBandwidthIsShared(t *testing.T) {
	tests := []struct {
		name    string
		queues  int     // transfers on separate DMA queues run concurrently
		rateCap float64 // per-transfer DMA cap
		want    float64 // end time of both 100-byte transfers at 10 B/ns shared
	}{
		{"alone", 1, 0, 20},               // one queue: 10 + 10 ns back to back
		{"two queues share", 2, 0, 20},    // 5 B/ns each: both end at 20
		{"capped below share", 2, 2, 50},  // 2 B/ns each
		{"cap above share", 2, 100, 20.0}, // the share binds
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &engine{dramBW: 10}
			qs := []int32{e.addQueue()}
			if tc.queues == 2 {
				qs = append(qs, e.addQueue())
			}
			var ids []int32
			for i := 0; i < 2; i++ {
				x := none()
				x.queue, x.dram, x.bytes, x.rateCap = qs[i%len(qs)], true, 100, tc.rateCap
				ids = append(ids, e.add(x))
			}
			require.NoError(t, e.run())
			require.InDelta(t, tc.want, e.tasks[ids[1]].end, 1e-9)
		})
	}
}

func TestEngineDRAMLatencyIsPipelined(t *testing.T) {
	e := &engine{dramBW: 10}
	q := e.addQueue()
	var ids []int32
	for i := 0; i < 3; i++ {
		x := none()
		x.queue, x.dram, x.bytes, x.latency = q, true, 100, 50
		ids = append(ids, e.add(x))
	}
	require.NoError(t, e.run())
	// The queue issues a transfer every 10 ns; each arrives 50 ns after leaving DRAM.
	require.InDelta(t, 60, e.tasks[ids[0]].end, 1e-9)
	require.InDelta(t, 70, e.tasks[ids[1]].end, 1e-9)
	require.InDelta(t, 80, e.tasks[ids[2]].end, 1e-9)
}

func TestEngineRingBlocksLoadsUntilComputeFrees(t *testing.T) {
	// A 200-byte ring with 100-byte tiles is double buffering: load k+2 waits until
	// compute k has released its tile.
	e := &engine{dramBW: 100} // a load takes 1 ns
	dma, mac := e.addQueue(), e.addQueue()
	r := e.addRing(200)
	var loads, comps []int32
	for k := 0; k < 4; k++ {
		l := none()
		l.queue, l.dram, l.bytes, l.ring, l.acquire = dma, true, 100, r, 100
		id := e.add(l)
		c := none()
		c.queue, c.dur, c.releases = mac, 10, []int32{id}
		cid := e.add(c)
		e.dep(id, cid)
		loads, comps = append(loads, id), append(comps, cid)
	}
	require.NoError(t, e.run())
	require.InDelta(t, 1, e.tasks[loads[1]].start, 1e-9)
	require.InDelta(t, e.tasks[comps[0]].end, e.tasks[loads[2]].start, 1e-9)
	require.InDelta(t, e.tasks[comps[1]].end, e.tasks[loads[3]].start, 1e-9)
	require.LessOrEqual(t, e.rings[r].peak, 200.0)
	require.InDelta(t, 41, e.tasks[comps[3]].end, 1e-9)
}

func TestEngineReportsStall(t *testing.T) {
	e := &engine{dramBW: 1}
	a, b := none(), none()
	ia, ib := e.add(a), e.add(b)
	e.dep(ia, ib)
	e.dep(ib, ia)
	require.ErrorContains(t, e.run(), "stalled")
}
