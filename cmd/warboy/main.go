package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// command is one subcommand. Subcommands live in their own files and register
// themselves in init.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage marks errors caused by how the command was called (exit status 2).
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stdout)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printUsage(stdout)
		return 0
	case "help":
		// warboy help CMD [SUB] is warboy CMD [SUB] --help.
		if len(args) == 1 {
			printUsage(stdout)
			return 0
		}
		return run(append(append([]string(nil), args[1:]...), "--help"), stdout, stderr)
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	name := args[0]
	c, ok := commands[name]
	jsonOut := wantsJSON(name, args[1:])
	if !ok {
		fmt.Fprintf(stderr, "warboy: unknown command %q\n\n", name)
		printUsage(stderr)
		if jsonOut {
			writeError(stdout, fmt.Sprintf("warboy: unknown command %q", name), 2)
		}
		return 2
	}
	if sub := subcommand(name, args[1:]); sub != "" {
		name += " " + sub
	}
	err := c.run(args[1:], stdout, stderr)
	if err == nil {
		return 0
	}
	var help *helpRequest
	if errors.As(err, &help) {
		help.fs.SetOutput(stdout)
		help.fs.Usage()
		return 0
	}
	code := 1
	if errors.Is(err, errUsage) {
		code = 2
	}
	msg := fmt.Sprintf("warboy %s: %v", name, err)
	fmt.Fprintln(stderr, msg)
	if code == 2 {
		fmt.Fprintf(stderr, "(warboy %s --help lists the flags)\n", name)
	}
	if jsonOut {
		writeError(stdout, msg, code)
	}
	return code
}

// subcommand names the second-level command of args (bench cpu, bench kernels), or "".
func subcommand(name string, args []string) string {
	if name == "bench" && len(args) > 0 && (args[0] == "cpu" || args[0] == "kernels") {
		return args[0]
	}
	return ""
}

// errorJSON is what a command run with --json prints on standard output when it fails,
// so that a script reads one JSON document whether the command worked or not.
type errorJSON struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

func writeError(w io.Writer, msg string, code int) {
	_ = writeJSON(w, errorJSON{Error: msg, ExitCode: code})
}

// wantsJSON reports whether the arguments of command name ask for JSON output (--json,
// or bench's --format json). It looks at the raw arguments because the command may
// fail before (or while) parsing its flags.
func wantsJSON(name string, args []string) bool {
	report := name == "bench" && (len(args) == 0 || subcommand(name, args) == "")
	want := false
	for i, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			continue
		}
		switch name {
		case "json":
			want = !hasVal || val == "true" || val == "1"
		case "format":
			if !report {
				continue
			}
			if !hasVal && i+1 < len(args) {
				val = args[i+1]
			}
			want = want || strings.EqualFold(val, "json")
		}
	}
	return want
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "warboy: int8 quantization, CPU execution and Warboy NPU simulation of ONNX models")
	fmt.Fprintln(w, "\nusage: warboy COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'warboy COMMAND --help' (or 'warboy help COMMAND') for the flags of a command,")
	fmt.Fprintln(w, "'warboy --version' for the version, Go version, kernel dispatch path and hardware profile.")
}

// helpRequest is returned by parseFlags for -h/--help: run prints the command's usage
// on standard output and exits 0 (help asked for is not an error).
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

// newFlags makes a flag set whose usage text shows the command's synopsis. The flag
// package prints nothing itself: a parse error is returned (and printed once by run),
// --help is printed on standard output by run.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("warboy "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: warboy %s %s\n\nflags:\n", name, synopsis)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// hiddenAlias marks the usage text of an old flag spelling kept for scripts: it is
// accepted but not listed by --help (docs/cli.md lists the renames).
const hiddenAlias = "\x00alias of --"

// aliasFlag registers old as a hidden spelling of the flag name.
func aliasFlag(fs *flag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("aliasFlag: no flag --" + name)
	}
	fs.Var(f.Value, old, hiddenAlias+name)
}

// canonicalName is the flag a (possibly old) spelling stands for.
func canonicalName(f *flag.Flag) string {
	if n, ok := strings.CutPrefix(f.Usage, hiddenAlias); ok {
		return n
	}
	return f.Name
}

// setFlags returns the canonical names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[canonicalName(f)] = true })
	return set
}

// printFlags lists the flags like flag.PrintDefaults, with the --long spelling the
// documentation uses, and without the hidden aliases.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, hiddenAlias) {
			return
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		typ, usage := flag.UnquoteUsage(f)
		line := "  " + dash + f.Name
		if typ != "" {
			line += " " + typ
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		switch f.DefValue {
		case "", "0", "false", "0s", "-1":
		default:
			if typ == "string" {
				line += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				line += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		fmt.Fprintln(w, line)
	})
}

// parseFlags parses flags that may appear before, between or after positional
// arguments (warboy quantize MODEL --method X), and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, checkNonNegative(fs)
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), checkNonNegative(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// nonNegativeFlags are counts and durations for which no command gives a negative
// value a meaning: a negative one given on the command line is a usage error (before,
// --threads -3 ran on all cores, --index -1 ran image 0, --min-time -1s and
// --iterations -1 took the defaults).
var nonNegativeFlags = map[string]bool{
	"threads": true, "index": true, "iterations": true, "min-time": true, "ops": true,
	"calib-n": true, "requests": true, "in-flight": true,
}

// checkNonNegative refuses a negative value given to one of nonNegativeFlags.
func checkNonNegative(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		name := canonicalName(f)
		g, ok := f.Value.(flag.Getter)
		if err != nil || !nonNegativeFlags[name] || !ok {
			return
		}
		neg := false
		switch v := g.Get().(type) {
		case int:
			neg = v < 0
		case int64:
			neg = v < 0
		case float64:
			neg = v < 0
		case time.Duration:
			neg = v < 0
		}
		if neg {
			err = usageErr("--%s %s must not be negative", name, f.Value.String())
		}
	})
	return err
}

// nonNil returns s, or an empty slice for nil: a documented list is printed as [] when
// empty, never left out.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeJSON prints v as indented JSON. A non-finite number (NaN, +-Inf), which JSON
// cannot hold, is written as null (finiteJSON) instead of failing a command that
// worked; nothing is printed when encoding fails.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		var uv *json.UnsupportedValueError
		if !errors.As(err, &uv) {
			return err
		}
		raw, ferr := finiteJSON(v)
		if ferr != nil {
			return ferr
		}
		b.Reset()
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// table renders rows as an aligned plain-text (and Markdown-compatible) table.
func table(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(width) && len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			fmt.Fprintf(&b, " %-*s |", width[i], c)
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}
