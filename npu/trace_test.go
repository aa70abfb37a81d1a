package npu_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/npu"
)

// The trace is Chrome trace JSON that Perfetto opens: complete events with ts/dur in
// microseconds, one named thread per hardware unit.
func TestTraceIsChromeTraceJSON(t *testing.T) {
	for _, mode := range []npu.Mode{npu.ModeFused, npu.Mode2PE} {
		t.Run(string(mode), func(t *testing.T) {
			r, err := npu.Simulate(zooModel(t, "tiny_cnn"), npu.Config{Mode: mode, AssumeInt8: true, Trace: true, Requests: 2})
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, r.WriteTrace(&buf))
			var doc struct {
				TraceEvents []struct {
					Name string         `json:"name"`
					Ph   string         `json:"ph"`
					Ts   float64        `json:"ts"`
					Dur  float64        `json:"dur"`
					Pid  int            `json:"pid"`
					Tid  int            `json:"tid"`
					Args map[string]any `json:"args"`
				} `json:"traceEvents"`
				DisplayTimeUnit string `json:"displayTimeUnit"`
			}
			require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
			type key struct{ pid, tid int }
			named := map[key]string{}
			used := map[key]bool{}
			names := map[string]bool{}
			for _, e := range doc.TraceEvents {
				switch e.Ph {
				case "M":
					if e.Name == "thread_name" {
						named[key{e.Pid, e.Tid}] = e.Args["name"].(string)
					}
				case "X":
					require.GreaterOrEqual(t, e.Ts, 0.0)
					require.GreaterOrEqual(t, e.Dur, 0.0)
					used[key{e.Pid, e.Tid}] = true
					names[e.Name] = true
				default:
					t.Fatalf("unexpected phase %q", e.Ph)
				}
			}
			for k := range used {
				require.NotEmpty(t, named[k], "thread %v has a thread_name", k)
			}
			for _, n := range []string{"LowLevelConv2d", "LowLevelPad", "load weights", "PCIe H2D", "PCIe D2H", "Quantize", "request 0", "request 1"} {
				require.True(t, names[n], "event %q", n)
			}
			require.Equal(t, len(doc.TraceEvents), len(r.TraceEvents()))
		})
	}
}

func TestWriteTraceNeedsTrace(t *testing.T) {
	r, err := npu.Simulate(zooModel(t, "tiny_cnn"), npu.Config{AssumeInt8: true})
	require.NoError(t, err)
	require.Error(t, r.WriteTrace(&bytes.Buffer{}))
}
