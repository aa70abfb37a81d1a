package quantizer

import (
	"fmt"
	"strings"
)

// Method is a calibration method: how the quantization range of an activation is chosen
// from the statistics collected over the calibration data. The numbering follows
// FuriosaAI's CalibrationMethod enum.
type Method int

// Calibration methods. Each statistic exists in an asymmetric variant (the range may
// be lopsided around zero) and a symmetric one (the range is [-a, a], or [0, a] for a
// tensor that is never negative).
const (
	MinMaxAsym Method = iota
	MinMaxSym
	EntropyAsym
	EntropySym
	PercentileAsym
	PercentileSym
	MSEAsym
	MSESym
	SQNRAsym
	SQNRSym
	numMethods
)

// Kind is the statistic of a method, without its symmetry.
type Kind int

// Statistics behind the methods.
const (
	KindMinMax Kind = iota
	KindEntropy
	KindPercentile
	KindMSE
	KindSQNR
)

var kindNames = [...]string{"MIN_MAX", "ENTROPY", "PERCENTILE", "MSE", "SQNR"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Kind returns the statistic of the method.
func (m Method) Kind() Kind { return Kind(m / 2) }

// Symmetric reports whether the method produces symmetric ranges.
func (m Method) Symmetric() bool { return m%2 == 1 }

// Valid reports whether m is one of the defined methods.
func (m Method) Valid() bool { return m >= 0 && m < numMethods }

// String returns the method's canonical name, e.g. "ENTROPY_SYM".
func (m Method) String() string {
	if !m.Valid() {
		return fmt.Sprintf("Method(%d)", int(m))
	}
	if m.Symmetric() {
		return m.Kind().String() + "_SYM"
	}
	return m.Kind().String() + "_ASYM"
}

// Methods lists every calibration method in enum order.
func Methods() []Method {
	out := make([]Method, numMethods)
	for i := range out {
		out[i] = Method(i)
	}
	return out
}

// MethodNames lists the canonical method names.
func MethodNames() []string {
	out := make([]string, numMethods)
	for i := range out {
		out[i] = Method(i).String()
	}
	return out
}

// ParseMethod parses a method name such as "MIN_MAX_ASYM", "entropy_sym" or
// "percentile-asym" (case-insensitive, '-' and '_' interchangeable; "MINMAX" is
// accepted for "MIN_MAX").
func ParseMethod(s string) (Method, error) {
	norm := strings.ToUpper(strings.TrimSpace(s))
	norm = strings.ReplaceAll(norm, "-", "_")
	norm = strings.Replace(norm, "MINMAX", "MIN_MAX", 1)
	for _, m := range Methods() {
		if m.String() == norm {
			return m, nil
		}
	}
	for _, k := range kindNames {
		if norm == k {
			return 0, fmt.Errorf("calibration method %q needs a suffix: %s_ASYM or %s_SYM", s, k, k)
		}
	}
	return 0, fmt.Errorf("unknown calibration method %q (valid: %s)", s, strings.Join(MethodNames(), ", "))
}

// MarshalText implements encoding.TextMarshaler (JSON reports show the name).
func (m Method) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("invalid calibration method %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
