package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// allCommands lists every command and second-level command (bench cpu, bench kernels).
func allCommands() [][]string {
	var out [][]string
	for name := range commands {
		out = append(out, []string{name})
	}
	out = append(out, []string{"bench", "cpu"}, []string{"bench", "kernels"})
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], " ") < strings.Join(out[j], " ") })
	return out
}

// --help, -h and `warboy help CMD` print the command's usage on standard output and exit
// 0, like `warboy --help`; nothing goes to standard error.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		assert.Equal(t, 0, code, args)
		assert.Contains(t, out, "commands:")
		assert.Empty(t, errOut)
	}
	for _, cmd := range allCommands() {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			for _, form := range [][]string{
				append(append([]string(nil), cmd...), "--help"),
				append(append([]string(nil), cmd...), "-h"),
				append([]string{"help"}, cmd...),
			} {
				code, out, errOut := runCLI(form...)
				assert.Equal(t, 0, code, form)
				assert.Empty(t, errOut, form)
				assert.True(t, strings.HasPrefix(out, "usage: warboy "+name+" "), "%v: %q", form, out)
				assert.Contains(t, out, "--json", "every command has --json")
				assert.NotContains(t, out, hiddenAlias, "old spellings are not listed")
			}
		})
	}
	code, _, errOut := runCLI("help", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)

	// A flag error is short: the message and where to find the flags, not the whole usage.
	code, out, errOut := runCLI("quantize", "--frob")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "warboy quantize: usage: flag provided but not defined: -frob\n(warboy quantize --help lists the flags)\n", errOut)
	code, _, errOut = runCLI("bench", "cpu", "--frob")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "warboy bench cpu: usage: flag provided but not defined: -frob")
}
