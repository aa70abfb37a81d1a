package npu

import (
	"fmt"
	"testing"

	"github.com/warboy-sim/warboy/bench/zoo"
)

func TestZZStats(t *testing.T) {
	for _, name := range []string{"resnet50", "mobilenet_v1", "yolov5n", "yolov5s", "yolov5m", "yolov5l", "yolov5x", "yolov5n6", "yolov5s6", "yolov5m6", "yolov5l6"} {
		m, _ := zoo.Build(name, zoo.Options{})
		for _, mode := range []Mode{ModeFused, ModeSingle} {
			cfg, _ := Config{Mode: mode, AssumeInt8: true, PreLowered: true}.withDefaults()
			h := newHW(cfg.Profile, mode)
			p, err := compile(m, cfg, h)
			if err != nil {
				t.Fatal(err)
			}
			var macs, w, inB, outB, passes, ops, vecB, nmac int64
			var cyc float64
			for _, l := range p.steps {
				if l.engine != EngineNPU {
					continue
				}
				ops++
				if l.kind.isMAC() && l.geom != nil {
					nmac++
					macs += l.macs
					w += l.wBytes
					inB += layoutBytes(l.in[0].shape, h)
					outB += layoutBytes(l.out[0].shape, h)
					pl := macCycles(l.geom, h)
					passes += int64(pl.passes * pl.hSplit * pl.cSplit)
					cyc += pl.cycles
				} else {
					for _, x := range l.in {
						vecB += layoutBytes(x.shape, h)
					}
				}
			}
			fmt.Printf("%-13s %-6s GMAC %6.2f W %6.1fMB in %6.1fMB out %6.1fMB vec %6.1fMB ops %3d mac %3d passes %8d computeUS %7.0f\n", name, mode, float64(macs)/1e9, float64(w)/1e6, float64(inB)/1e6, float64(outB)/1e6, float64(vecB)/1e6, ops, nmac, passes, cyc/2000)
		}
	}
}
