package npu

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Provenance says where a profile value comes from.
type Provenance string

// Provenance kinds. Published values are quoted from FuriosaAI's documents or
// configuration files, derived ones are arithmetic on published values, fitted ones
// were chosen so that the simulator reproduces published measurements, guessed ones
// are engineering estimates without a source. A value a user changed in a profile
// file is marked User.
const (
	Published Provenance = "published"
	Derived   Provenance = "derived"
	Fitted    Provenance = "fitted"
	Guessed   Provenance = "guessed"
	User      Provenance = "user"
)

// Param is one constant of the hardware profile.
type Param struct {
	Value float64    `json:"value"`
	Unit  string     `json:"unit,omitempty"`
	Kind  Provenance `json:"kind"`
	// Source cites the document (or the fit) the value comes from.
	Source string `json:"source"`
	// Note says how the simulator uses the value ("not used by the timing model" for
	// constants kept only for completeness).
	Note string `json:"note,omitempty"`
}

// Int returns the value rounded to an integer.
func (p Param) Int() int { return int(math.Round(p.Value)) }

// ChipParams are the published chip-level figures (warboy.md section 1.1).
type ChipParams struct {
	ProcessNM          Param `json:"process_nm"`
	TransistorsBillion Param `json:"transistors_billion"`
	DieAreaMM2         Param `json:"die_area_mm2"`
	ClockGHz           Param `json:"clock_ghz"`
	PeakTOPSChip       Param `json:"peak_tops_chip"`
	PeakTOPSPerPE      Param `json:"peak_tops_per_pe"`
	SRAMTotalMB        Param `json:"sram_total_mb"`
	DRAMDataRateMbps   Param `json:"dram_data_rate_mbps"`
	DRAMBandwidthGBs   Param `json:"dram_bandwidth_gbs"`
	DRAMCapacityGB     Param `json:"dram_capacity_gb"`
	PCIeGen            Param `json:"pcie_gen"`
	PCIeLanes          Param `json:"pcie_lanes"`
	PCIeBandwidthGBs   Param `json:"pcie_bandwidth_gbs"`
	TDPMinW            Param `json:"tdp_min_w"`
	TDPMaxW            Param `json:"tdp_max_w"`
}

// NPUConfig mirrors FuriosaAI's global NPU configuration file (64dpes.yml /
// 128dpes.yml of the MLPerf v1.1 submission, warboy.md section 1.3), field by field.
type NPUConfig struct {
	NumPE                     Param `json:"num_pe"`
	NumSlices                 Param `json:"num_slices"`
	MACWidth                  Param `json:"mac_width"`
	MACHeight                 Param `json:"mac_height"`
	SizeActualSRAMSlice       Param `json:"size_actual_sram_slice"`
	SizeSRAMSliceAddressSpace Param `json:"size_sram_slice_address_space"`
	SizeDRAM                  Param `json:"size_dram"`
	SizeDRAMBulk              Param `json:"size_dram_bulk"`
	SizeInstructionMemory     Param `json:"size_instruction_memory"`
	NumRegisters              Param `json:"num_registers"`
	NumOperands               Param `json:"num_operands"`
	OperandQueueDepth         Param `json:"operand_queue_depth"`
	NumTasks                  Param `json:"num_tasks"`
	ScalarAlignment           Param `json:"scalar_alignment"`
	IOAlignment               Param `json:"io_alignment"`
	HopCycles                 Param `json:"hop_cycles"`
	CtrlDelay                 Param `json:"ctrl_delay"`
	ShiftRegisterWidth        Param `json:"shift_register_width"`
	GatDataWidth              Param `json:"gat_data_width"`
	GatHopCycles              Param `json:"gat_hop_cycles"`
	NumTablePorts             Param `json:"num_table_ports"`
	SRAMAccessWidth           Param `json:"sram_access_width"`
	RegisterFileSize          Param `json:"register_file_size"`
	AccumulatorSize           Param `json:"accumulator_size"`
	VERegisterFileSize        Param `json:"ve_register_file_size"`
	VEMaxAccessWidth          Param `json:"ve_max_access_width"`
	WarmupBase                Param `json:"warmup_base"`
	FetchNetworkWidth         Param `json:"fetch_network_width"`
	SFRIOWidth                Param `json:"sfr_io_width"`
	TEIOWidth                 Param `json:"te_io_width"`
	CompletionTagWidth        Param `json:"completion_tag_width"`
	IOQueueDepth              Param `json:"io_queue_depth"`
	ProfilingFrequencyMHz     Param `json:"profiling_frequency_in_mhz"`
}

// ModelParams are the simulator's own constants: interpretations of the
// configuration, the fitted parameters and guesses.
type ModelParams struct {
	SRAMBytesPerCycle   Param `json:"sram_bytes_per_cycle_per_slice"`
	VectorBytesPerCycle Param `json:"vector_bytes_per_cycle_per_slice"`
	DRAMEfficiency      Param `json:"dram_efficiency"`
	DRAMLatencyNS       Param `json:"dram_latency_ns"`
	DMABandwidthGBs     Param `json:"dma_bandwidth_gbs_per_pe"`
	DMATileBytes        Param `json:"dma_tile_bytes"`
	MaxTilesPerOp       Param `json:"max_tiles_per_op"`
	OpOverheadCycles    Param `json:"op_overhead_cycles"`
	MACEfficiency       Param `json:"mac_efficiency"`
	PassOverheadCycles  Param `json:"pass_overhead_cycles"`
	TableLoadCycles     Param `json:"table_load_cycles"`
	ViewOpCycles        Param `json:"view_op_cycles"`
	SoftmaxPasses       Param `json:"softmax_passes"`
	NormPasses          Param `json:"norm_passes"`
	PCIeEfficiency      Param `json:"pcie_efficiency"`
	PCIeLatencyUS       Param `json:"pcie_latency_us"`
	PinWeights          Param `json:"pin_weights"`
	NPUDequantize       Param `json:"npu_dequantize"`
}

// HostParams are the costs of the host CPU side of an inference.
type HostParams struct {
	Cores               Param `json:"cores"`
	RequestOverheadUS   Param `json:"request_overhead_us"`
	QuantizeFixedUS     Param `json:"quantize_fixed_us"`
	QuantizeNSPerElem   Param `json:"quantize_ns_per_elem"`
	LowerFixedUS        Param `json:"lower_fixed_us"`
	LowerNSPerByte      Param `json:"lower_ns_per_byte"`
	UnlowerFixedUS      Param `json:"unlower_fixed_us"`
	UnlowerNSPerByte    Param `json:"unlower_ns_per_byte"`
	DequantizeFixedUS   Param `json:"dequantize_fixed_us"`
	DequantizeNSPerElem Param `json:"dequantize_ns_per_elem"`
	FallbackFixedUS     Param `json:"fallback_fixed_us"`
	FallbackNSPerElem   Param `json:"fallback_ns_per_elem"`
	FallbackGMACs       Param `json:"fallback_gmacs"`
}

// Profile is a complete, versioned description of the hardware and of the software
// costs the simulator charges. Profiles are JSON documents; Default returns the
// embedded warboy-v1 profile.
type Profile struct {
	FormatVersion int         `json:"format_version"`
	Name          string      `json:"name"`
	Version       string      `json:"version"`
	Description   string      `json:"description"`
	Chip          ChipParams  `json:"chip"`
	Config        NPUConfig   `json:"npu_config"`
	Model         ModelParams `json:"model"`
	Host          HostParams  `json:"host"`
}

// ProfileFormatVersion is the profile JSON format this package reads.
const ProfileFormatVersion = 1

//go:embed profiles/warboy-v1.json
var defaultProfileJSON []byte

// Default returns a fresh copy of the embedded warboy-v1 profile.
func Default() *Profile {
	p, err := ParseProfile(defaultProfileJSON)
	if err != nil {
		// The embedded file is covered by tests; failing here is a build defect.
		panic("npu: embedded profile: " + err.Error())
	}
	return p
}

// ParseProfile decodes a complete profile and validates it.
func ParseProfile(data []byte) (*Profile, error) {
	p := &Profile{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// LoadProfile reads a profile file. The file may be partial: it is applied on top of
// the default profile, so {"model": {"dram_efficiency": {"value": 0.9}}} is a complete
// "what if". Values that differ from the default and whose kind the file does not set
// are marked User with the file as their source.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := OverlayProfile(Default(), data, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// OverlayProfile applies a (possibly partial) JSON profile on top of base and returns
// the result; base is not modified. source names the overlay in the provenance of the
// values it changes.
func OverlayProfile(base *Profile, data []byte, source string) (*Profile, error) {
	p := base.Clone()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if p.FormatVersion != ProfileFormatVersion {
		return nil, fmt.Errorf("profile: format_version %d, this simulator reads version %d", p.FormatVersion, ProfileFormatVersion)
	}
	before := map[string]Param{}
	for _, np := range base.Params() {
		before[np.Name] = np.Param
	}
	for _, np := range p.Params() {
		old := before[np.Name]
		if np.Value != old.Value && np.Kind == old.Kind {
			np.ptr.Kind = User
			np.ptr.Source = "set by " + source + fmt.Sprintf(" (default %g: %s)", old.Value, old.Source)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Clone deep-copies the profile.
func (p *Profile) Clone() *Profile {
	c := *p
	return &c
}

// JSON encodes the profile as indented JSON.
func (p *Profile) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// NamedParam is a profile parameter with its dotted JSON name ("model.dram_efficiency").
type NamedParam struct {
	Name string
	Param
	ptr *Param
}

// Params lists every parameter of the profile in a stable order (group, then file
// order).
func (p *Profile) Params() []NamedParam {
	var out []NamedParam
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		group := strings.Split(f.Tag.Get("json"), ",")[0]
		gv := v.Field(i)
		for j := 0; j < f.Type.NumField(); j++ {
			pf := f.Type.Field(j)
			if pf.Type != reflect.TypeOf(Param{}) {
				continue
			}
			ptr := gv.Field(j).Addr().Interface().(*Param)
			out = append(out, NamedParam{Name: group + "." + strings.Split(pf.Tag.Get("json"), ",")[0], Param: *ptr, ptr: ptr})
		}
	}
	return out
}

// Param returns the parameter with the given dotted name.
func (p *Profile) Param(name string) (Param, bool) {
	for _, np := range p.Params() {
		if np.Name == name {
			return np.Param, true
		}
	}
	return Param{}, false
}

// SetParam changes a parameter's value (marking it User), for programmatic what-ifs.
func (p *Profile) SetParam(name string, value float64) error {
	for _, np := range p.Params() {
		if np.Name == name {
			np.ptr.Value = value
			np.ptr.Kind = User
			np.ptr.Source = "set programmatically"
			return p.Validate()
		}
	}
	names := make([]string, 0)
	for _, np := range p.Params() {
		names = append(names, np.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("profile: no parameter %q (parameters: %s)", name, strings.Join(names, ", "))
}

// positive lists the parameters that must be > 0; integral ones must also be whole.
var (
	mustBePositive = []string{
		"chip.clock_ghz", "chip.dram_bandwidth_gbs", "chip.pcie_bandwidth_gbs",
		"npu_config.num_pe", "npu_config.num_slices", "npu_config.mac_width", "npu_config.mac_height",
		"npu_config.size_actual_sram_slice", "npu_config.scalar_alignment", "npu_config.shift_register_width",
		"npu_config.te_io_width", "npu_config.num_table_ports", "npu_config.fetch_network_width",
		"model.sram_bytes_per_cycle_per_slice", "model.vector_bytes_per_cycle_per_slice", "model.dram_efficiency",
		"model.mac_efficiency",
		"model.dma_bandwidth_gbs_per_pe", "model.dma_tile_bytes", "model.max_tiles_per_op",
		"model.softmax_passes", "model.norm_passes", "model.pcie_efficiency", "host.cores", "host.fallback_gmacs",
	}
	mustBeIntegral = []string{
		"npu_config.num_pe", "npu_config.num_slices", "npu_config.mac_width", "npu_config.mac_height",
		"npu_config.size_actual_sram_slice", "npu_config.scalar_alignment", "npu_config.shift_register_width",
		"npu_config.warmup_base", "model.dma_tile_bytes", "model.max_tiles_per_op", "host.cores",
		"model.pin_weights", "model.npu_dequantize",
	}
	mustBeFraction = []string{"model.dram_efficiency", "model.pcie_efficiency", "model.mac_efficiency"}
	mustBeBool     = []string{"model.pin_weights", "model.npu_dequantize"}
)

// Validate checks that every parameter has a provenance and a usable value.
func (p *Profile) Validate() error {
	if p.FormatVersion != ProfileFormatVersion {
		return fmt.Errorf("profile: format_version %d, this simulator reads version %d", p.FormatVersion, ProfileFormatVersion)
	}
	if p.Name == "" {
		return fmt.Errorf("profile: missing name")
	}
	byName := map[string]Param{}
	for _, np := range p.Params() {
		switch np.Kind {
		case Published, Derived, Fitted, Guessed, User:
		default:
			return fmt.Errorf("profile %s: %s: kind %q is not one of published, derived, fitted, guessed, user", p.Name, np.Name, np.Kind)
		}
		if np.Source == "" {
			return fmt.Errorf("profile %s: %s: missing source", p.Name, np.Name)
		}
		if math.IsNaN(np.Value) || math.IsInf(np.Value, 0) || np.Value < 0 {
			return fmt.Errorf("profile %s: %s = %v: must be a finite non-negative number", p.Name, np.Name, np.Value)
		}
		byName[np.Name] = np.Param
	}
	for _, n := range mustBePositive {
		if byName[n].Value <= 0 {
			return fmt.Errorf("profile %s: %s = %v: must be positive", p.Name, n, byName[n].Value)
		}
	}
	for _, n := range mustBeIntegral {
		if v := byName[n].Value; v != math.Round(v) {
			return fmt.Errorf("profile %s: %s = %v: must be a whole number", p.Name, n, v)
		}
	}
	for _, n := range mustBeFraction {
		if v := byName[n].Value; v > 1 {
			return fmt.Errorf("profile %s: %s = %v: must be at most 1", p.Name, n, v)
		}
	}
	for _, n := range mustBeBool {
		if v := byName[n].Value; v != 0 && v != 1 {
			return fmt.Errorf("profile %s: %s = %v: must be 0 or 1", p.Name, n, v)
		}
	}
	return nil
}

// derived quantities used throughout the simulator.

// clockHz is the NPU clock.
func (p *Profile) clockHz() float64 { return p.Chip.ClockGHz.Value * 1e9 }

// cyclesToNS converts NPU cycles to nanoseconds.
func (p *Profile) cyclesToNS(c float64) float64 { return c / p.Chip.ClockGHz.Value }

// slicesPerPE is the slice count of one PE (the configuration's num_slices is per PE;
// the fused configuration doubles it).
func (p *Profile) slicesPerPE() int { return p.Config.NumSlices.Int() }

// sramPerSlice is the usable SRAM of one slice in bytes.
func (p *Profile) sramPerSlice() int64 { return int64(p.Config.SizeActualSRAMSlice.Value) }

// macsPerSlice is the number of int8 MACs of one slice per cycle.
func (p *Profile) macsPerSlice() int { return p.Config.MACWidth.Int() * p.Config.MACHeight.Int() }

// dramBytesPerNS is the sustained DRAM bandwidth shared by the PEs.
func (p *Profile) dramBytesPerNS() float64 {
	return p.Chip.DRAMBandwidthGBs.Value * p.Model.DRAMEfficiency.Value
}

// pcieBytesPerNS is the sustained PCIe bandwidth in one direction.
func (p *Profile) pcieBytesPerNS() float64 {
	return p.Chip.PCIeBandwidthGBs.Value * p.Model.PCIeEfficiency.Value
}
