package npu

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Mode selects how the chip's two PEs are used.
type Mode string

// Execution modes (warboy.md 1.2).
const (
	// ModeSingle runs on one PE: 64 slices and 16 MiB of SRAM (--target-npu warboy).
	ModeSingle Mode = "single"
	// ModeFused joins both PEs into one: 128 slices and 32 MiB (warboy-2pe, the
	// compiler's default and the mode of FuriosaAI's MLPerf latency results).
	ModeFused Mode = "fused"
	// Mode2PE runs two independent single PEs, each on its own requests (throughput).
	Mode2PE Mode = "2pe"
)

// ParseMode parses "single", "fused" or "2pe" (case-insensitive).
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToLower(s)) {
	case ModeSingle, "1pe", "warboy":
		return ModeSingle, nil
	case ModeFused, "warboy-2pe":
		return ModeFused, nil
	case Mode2PE, "2x1pe":
		return Mode2PE, nil
	}
	return "", fmt.Errorf("unknown mode %q (want single, fused or 2pe)", s)
}

// Config selects what to simulate.
type Config struct {
	// Mode is single, fused (the default) or 2pe.
	Mode Mode
	// Batch is the number of images per request (binds the symbolic batch dimension;
	// default 1).
	Batch int
	// InFlight is the number of requests the runtime keeps in flight (worker_num);
	// default 1, or 2 in 2pe mode so both PEs have work.
	InFlight int
	// Requests is the number of requests simulated; default 1 when InFlight is 1 and
	// 4 x InFlight otherwise, so the throughput is measured in steady state.
	Requests int
	// Profile is the hardware profile (nil: Default()).
	Profile *Profile
	// PreLowered reproduces FuriosaAI's MLPerf harness: inputs are quantized and lowered
	// on the host before the timed region and outputs are read raw, so no Quantize,
	// Lower, Unlower or Dequantize is timed (remove_lower / remove_unlower).
	PreLowered bool
	// QuantizedInput says the model input is already uint8/int8 (ModelEditor's
	// convert_input_type): no host Quantize of the input.
	QuantizedInput bool
	// AssumeInt8 times a float32 model as if it were quantized (every activation and
	// weight one byte, biases four) without running the quantizer. Timing only: the
	// functional outputs, if asked for, are float32.
	AssumeInt8 bool
	// Functional also computes the model outputs with the runtime while timing.
	Functional bool
	// Inputs are the functional inputs, keyed by input name (random when nil).
	Inputs map[string]*graph.Tensor
	// Trace keeps the per-task timeline for WriteTrace.
	Trace bool
	// Seed seeds random functional inputs.
	Seed int64
}

func (c Config) withDefaults() (Config, error) {
	if c.Mode == "" {
		c.Mode = ModeFused
	}
	if _, err := ParseMode(string(c.Mode)); err != nil {
		return c, err
	}
	if c.Batch == 0 {
		c.Batch = 1
	}
	if c.Batch < 0 {
		return c, fmt.Errorf("batch %d must be positive", c.Batch)
	}
	if c.InFlight == 0 {
		c.InFlight = 1
		if c.Mode == Mode2PE {
			c.InFlight = 2
		}
	}
	if c.InFlight < 0 {
		return c, fmt.Errorf("in-flight requests %d must be positive", c.InFlight)
	}
	if c.Requests == 0 {
		c.Requests = 1
		if c.InFlight > 1 {
			c.Requests = 4 * c.InFlight
		}
	}
	if c.Requests < 0 {
		return c, fmt.Errorf("requests %d must be positive", c.Requests)
	}
	if c.Profile == nil {
		c.Profile = Default()
	} else if err := c.Profile.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// hw is the hardware one request's program is compiled for.
type hw struct {
	p       *Profile
	pes     int   // PEs simulated (2 in 2pe mode, else 1)
	slices  int   // slices of the PE a program runs on
	sram    int64 // SRAM bytes of that PE
	lanes   int   // mac_width
	height  int   // mac_height
	calign  int   // channel padding of the layout (scalar_alignment)
	srw     int   // shift register width
	warmup  float64
	sramBPC float64 // SRAM bytes per cycle per slice
	veBPC   float64 // vector engine bytes per cycle per slice
	teBPC   float64 // transpose engine bytes per cycle per slice
}

func newHW(p *Profile, mode Mode) hw {
	h := hw{
		p:       p,
		pes:     1,
		slices:  p.slicesPerPE(),
		lanes:   p.Config.MACWidth.Int(),
		height:  p.Config.MACHeight.Int(),
		calign:  p.Config.ScalarAlignment.Int(),
		srw:     p.Config.ShiftRegisterWidth.Int(),
		warmup:  p.Config.WarmupBase.Value,
		sramBPC: p.Model.SRAMBytesPerCycle.Value,
		veBPC:   p.Model.VectorBytesPerCycle.Value,
		teBPC:   p.Config.TEIOWidth.Value,
	}
	switch mode {
	case ModeFused:
		h.slices *= p.Config.NumPE.Int()
	case Mode2PE:
		h.pes = p.Config.NumPE.Int()
	}
	h.sram = int64(h.slices) * p.sramPerSlice()
	return h
}

// peakMACsPerCycle is the MAC throughput of the PE a program runs on.
func (h hw) peakMACsPerCycle() float64 { return float64(h.slices * h.lanes * h.height) }
