package main

import (
	"errors"
	"flag"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParsePair: edit's --output-range and --input-params numbers; what is accepted is
// finite as a float32.
func FuzzParsePair(f *testing.F) {
	for _, s := range []string{"0,1", "-1.5,2.5", "NaN,1", "-Inf,Inf", "1e39,2", "1", "a,b", "1,2,3", " 1 , 2 ", "0x1p-3,1", "1e-50,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, err := parsePair(s)
		if err != nil {
			return
		}
		for _, v := range []float64{a, b} {
			require.False(t, math.IsNaN(v) || math.Abs(v) > math.MaxFloat32, s)
		}
	})
}

// FuzzParseShapeFlag: run's --shape.
func FuzzParseShapeFlag(f *testing.F) {
	for _, s := range []string{"1,1,28,28", "1,,28", "-1,2", "99999999999999999999", "", " 3 ", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dims, err := parseShapeFlag(s)
		if err != nil {
			return
		}
		for _, d := range dims {
			require.GreaterOrEqual(t, d, 0)
		}
	})
}

// FuzzParseMethods: bench --methods.
func FuzzParseMethods(f *testing.F) {
	for _, s := range []string{"all", "", "MIN_MAX_ASYM,ENTROPY_SYM", ",", "FOO", "all,all"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseMethods(s)
		if err == nil {
			require.NotEmpty(t, ms)
		}
	})
}

// FuzzParseFlags: any command line through the shared flag parsing (flags before and
// after positionals, --input-shape, the non-negative counts, --json detection) is
// parsed or refused with a usage error; never a panic.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"m.onnx --threads 2 --input-shape x=1,3", "--threads=-3 m.onnx", "m.onnx -- --json", "--min-time -1s",
		"--input-shape x=1 --input-shape x=2", "--index", "--json=maybe a b", "-h", "--frob", "--input-shape =", "--min-time 1e99h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		fs := newFlags("fuzz", "", io.Discard)
		fs.Int("threads", 0, "")
		fs.Int("index", -1, "")
		fs.Duration("min-time", 0, "")
		fs.Bool("json", false, "")
		shapes := addInputShapeFlag(fs)
		_, err := parseFlags(fs, args)
		_ = wantsJSON("bench", args)
		if err != nil {
			var help *helpRequest
			if !errors.As(err, &help) {
				require.ErrorIs(t, err, errUsage)
			}
			return
		}
		for _, dims := range shapes {
			for _, d := range dims {
				require.GreaterOrEqual(t, d, 0)
			}
		}
		fs.Visit(func(fl *flag.Flag) {
			if g, ok := fl.Value.(flag.Getter); ok && nonNegativeFlags[fl.Name] {
				if v, ok := g.Get().(int); ok {
					require.GreaterOrEqual(t, v, 0)
				}
			}
		})
	})
}
