package npu

import (
	"fmt"
	"math"
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
	// a static batch of 1 is re-batched to it). Zero means the batch the model's
	// inputs declare, or 1 when it is symbolic.
	Batch int
	// InputShapes gives concrete shapes for inputs with symbolic dimensions other than
	// the batch (height, width, sequence length), keyed by input name, as the
	// --input-shape flag does. A symbolic dimension that is neither the leading batch
	// nor given is an error naming it.
	InputShapes map[string][]int
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
	// tablePorts is the table lookups per cycle per slice (num_table_ports).
	tablePorts float64
	// fetchBPC is the fetch network's bytes per cycle into one slice
	// (fetch_network_width) and hop its per-hop latency (hop_cycles).
	fetchBPC, hop float64
	// macEff is the sustained fraction of the MAC array's issue rate; fusedEff the
	// fraction of the local issue rate a fused PE sustains (1 outside fused mode).
	macEff, fusedEff float64
	// pesPerProgram is the PEs one program spans (2 when fused).
	pesPerProgram int
	// passOverhead is the fixed cost of a MAC pass beyond warmup_base.
	passOverhead float64
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

		tablePorts: p.Config.NumTablePorts.Value,
		fetchBPC:   p.Config.FetchNetworkWidth.Value,
		hop:        p.Config.HopCycles.Value,
		macEff:     p.Model.MACEfficiency.Value,

		passOverhead: p.Model.PassOverheadCycles.Value,

		pesPerProgram: 1,
		fusedEff:      1,
	}
	switch mode {
	case ModeFused:
		h.slices *= p.Config.NumPE.Int()
		h.pesPerProgram = p.Config.NumPE.Int()
		// In a fused PE a slice's operands are spread over both PEs' SRAM: half of
		// the input vectors of a MAC pass come from the other PE over the fetch
		// network, fetch_network_width bytes per cycle instead of the local SRAM
		// port's sram bytes per cycle. The pass then runs at
		// 1 / (1/2 + 1/2 x port/fetch) of the local rate: 2/3 with 32 and 16 bytes.
		remote := 1 - 1/float64(p.Config.NumPE.Int())
		h.fusedEff = 1 / ((1 - remote) + remote*math.Max(1, h.sramBPC/h.fetchBPC))
	case Mode2PE:
		h.pes = p.Config.NumPE.Int()
	}
	h.sram = int64(h.slices) * p.sramPerSlice()
	return h
}

// peakMACsPerCycle is the MAC throughput of the PE a program runs on.
func (h hw) peakMACsPerCycle() float64 { return float64(h.slices * h.lanes * h.height) }
