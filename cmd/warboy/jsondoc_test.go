package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// docTable is one machine-readable table of docs/cli.md: the rows' first cells (the
// text between the first pair of backquotes) and second cells, in order.
type docTable struct {
	keys  []string
	types map[string]string
}

// readDocTables parses the tables that follow an HTML comment <!-- KIND: NAME --> in
// docs/cli.md (KIND is "flags" or "json-fields").
func readDocTables(t *testing.T, kind string) map[string]*docTable {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	require.NoError(t, err)
	marker := regexp.MustCompile(`^<!-- ` + kind + `: (.+?) -->$`)
	cell := regexp.MustCompile("^\\|\\s*`([^`]+)`[^|]*\\|\\s*([^|]*?)\\s*\\|")
	tables := map[string]*docTable{}
	var cur *docTable
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if m := marker.FindStringSubmatch(l); m != nil {
			require.NotContains(t, tables, m[1], "two %s tables for %q", kind, m[1])
			cur = &docTable{types: map[string]string{}}
			tables[m[1]] = cur
			require.True(t, i+2 < len(lines) && strings.HasPrefix(lines[i+1], "| ") && strings.HasPrefix(lines[i+2], "| ---"),
				"a table follows <!-- %s: %s -->", kind, m[1])
			continue
		}
		if cur == nil {
			continue
		}
		if !strings.HasPrefix(l, "|") {
			if l != "" || len(cur.keys) > 0 {
				cur = nil
			}
			continue
		}
		if m := cell.FindStringSubmatch(l); m != nil {
			cur.keys = append(cur.keys, m[1])
			cur.types[m[1]] = strings.Trim(m[2], "` ")
		}
	}
	return tables
}

// helpFlags returns the flags `warboy CMD --help` lists.
func helpFlags(t *testing.T, cmd []string) []string {
	t.Helper()
	code, out, errOut := runCLI(append(append([]string(nil), cmd...), "--help")...)
	require.Equal(t, 0, code, errOut)
	re := regexp.MustCompile(`(?m)^  --?([\w-]+)`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

// docs/cli.md has a flag table for every command, listing exactly the flags --help
// lists.
func TestDocFlags(t *testing.T) {
	tables := readDocTables(t, "flags")
	seen := map[string]bool{}
	for _, cmd := range allCommands() {
		name := strings.Join(cmd, " ")
		seen[name] = true
		tab, ok := tables[name]
		if !assert.True(t, ok, "docs/cli.md has no <!-- flags: %s --> table", name) {
			continue
		}
		var doc []string
		for _, k := range tab.keys {
			doc = append(doc, strings.TrimLeft(strings.Fields(k)[0], "-"))
		}
		sort.Strings(doc)
		assert.Equal(t, helpFlags(t, cmd), doc, "flags of warboy %s: --help vs docs/cli.md", name)
	}
	for name := range tables {
		assert.True(t, seen[name], "docs/cli.md documents flags of %q, which is not a command", name)
	}
}

// jsonPaths walks a JSON document and records every key path (a, a.b, a[].b, [].b),
// the paths whose value is null or an empty list, and nothing below a documented map.
func jsonPaths(v any, path string, doc *docTable, keys map[string]bool, empty map[string]bool) {
	switch x := v.(type) {
	case nil:
		empty[path] = true
	case map[string]any:
		if doc.types[path] == "map" {
			return
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			keys[p] = true
			jsonPaths(e, p, doc, keys, empty)
		}
	case []any:
		if len(x) == 0 {
			empty[path] = true
		}
		for _, e := range x {
			jsonPaths(e, path+"[]", doc, keys, empty)
		}
	}
}

// underEmpty reports whether a documented path lies under a list or object that the
// run printed as null or [] (so its fields cannot appear).
func underEmpty(p string, empty map[string]bool) bool {
	for i := len(p) - 1; i >= 0; i-- {
		switch {
		case p[i] == '.' && empty[p[:i]]:
			return true
		case p[i] == '.' && strings.HasSuffix(p[:i], "[]") && empty[strings.TrimSuffix(p[:i], "[]")]:
			return true
		}
	}
	return false
}

// logSoftmaxModel is the bundled CNN with a LogSoftmax on its logits: an operator
// Warboy's NPU does not run, so the simulator reports a host fallback.
func logSoftmaxModel(t *testing.T) string {
	t.Helper()
	m, err := graph.Load(filepath.Join(testModels, "fmnist_cnn.onnx"))
	require.NoError(t, err)
	g := m.Graph
	g.Nodes = append(g.Nodes, &graph.Node{Name: "logsoftmax", OpType: "LogSoftmax", Inputs: []string{"logits"}, Outputs: []string{"logprobs"},
		Attrs: map[string]*graph.Attr{}})
	g.Outputs = []*graph.Value{{Name: "logprobs", DType: graph.Float32}}
	p := filepath.Join(t.TempDir(), "cnn_logsoftmax.onnx")
	require.NoError(t, m.Save(p))
	return p
}

// Every command's --json output has exactly the fields docs/cli.md lists, at every
// level: documented fields are never left out (a list may be [] or null, then its
// elements' fields cannot show), and no field is printed that is not documented.
func TestDocJSONFields(t *testing.T) {
	tables := readDocTables(t, "json-fields")
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	resnet := filepath.Join(testModels, "fmnist_resnet.onnx")
	q := filepath.Join(dir, "q.onnx")
	ranges := filepath.Join(dir, "r.json")
	det, detQ, detData := rowsDetector(t)
	detSpec := "rows=det:x1,y1,x2,y2,score,class"
	seqModel, seqIn := seqIOFiles(t, dir) // seqio_test.go: a sequence input and output
	runs := []struct {
		doc  string
		args []string
		code int
	}{
		// quantize first: later runs use its model and ranges.
		{"quantize", []string{"quantize", cnn, "--calib-data", testData, "--calib-n", "20", "-o", q, "--ranges-out", ranges, "--json"}, 0},
		{"quantize", []string{"quantize", mlp, "--dynamic", "-o", filepath.Join(dir, "d.onnx"), "--json"}, 0},
		{"quantize", []string{"quantize", cnn, "--ranges-in", ranges, "--format", "qoperator", "-o", filepath.Join(dir, "qop.onnx"), "--json"}, 0},
		{"quantize", []string{"quantize", resnet, "--calib-data", testData, "--calib-n", "10", "--exclude", "/fc/Gemm", "-o", filepath.Join(dir, "rq.onnx"), "--json"}, 0},
		{"quantize", []string{"quantize", cnn, "--calib-data", testData, "--calib-n", "20", "--method", "auto", "--val-n", "20",
			"-o", filepath.Join(dir, "auto.onnx"), "--json"}, 0},
		{"quantize", []string{"quantize", resnet, "--ranges-in", "../../quantizer/testdata/resnet_legacy_entropy_ranges.json",
			"--calib-data", testData, "--calib-n", "20", "--accuracy-budget", "1", "--val-n", "100", "-o", filepath.Join(dir, "fb.onnx"), "--json"}, 0},
		{"qat", []string{"qat", mlp, "--data", testData, "--n", "128", "--calib-n", "32", "--eval-n", "50", "--batch", "32",
			"-o", filepath.Join(dir, "qat.onnx"), "--json"}, 0},
		{"inspect", []string{"inspect", cnn, "--json"}, 0},
		{"inspect", []string{"inspect", q, "--json"}, 0},
		{"inspect --ops", []string{"inspect", "--ops", "--json"}, 0},
		{"run", []string{"run", cnn, "--data", testData, "--json"}, 0},
		{"run", []string{"run", q, "--data", testData, "--output", filepath.Join(dir, "o.npy"), "--json"}, 0},
		{"run", []string{"run", seqModel, "--input", seqIn, "--json"}, 0},
		{"eval", []string{"eval", cnn, "--data", testData, "--n", "50", "--json"}, 0},
		{"edit", []string{"edit", q, "--input-type", "uint8", "--output-type", "int8", "-o", filepath.Join(dir, "e.onnx"), "--json"}, 0},
		{"compare", []string{"compare", cnn, q, "--data", testData, "--n", "20", "--json"}, 0},
		{"compare", []string{"compare", det, detQ, "--data", detData, "--batch", "1", "--json"}, 0},
		{"compare", []string{"compare", det, detQ, "--data", detData, "--batch", "1", "--detections", detSpec, "--json"}, 0},
		{"sim", []string{"sim", "zoo:tiny_cnn", "--json", "--trace", filepath.Join(dir, "t.json")}, 0},
		{"sim", []string{"sim", resnet, "--calib-n", "2", "--functional", "--json"}, 0},
		{"sim", []string{"sim", logSoftmaxModel(t), "--timing-only", "--json"}, 0},
		{"bench cpu", []string{"bench", "cpu", "zoo:tiny_cnn", "--iterations", "1", "--warmup", "0", "--json"}, 0},
		{"bench cpu", []string{"bench", "cpu", q, "--iterations", "1", "--warmup", "0", "--json"}, 0},
		{"bench kernels", []string{"bench", "kernels", "--quick", "--min-time", "1ms", "--threads", "1", "--json"}, 0},
		{"bench", []string{"bench", cnn, "--data", testData, "--methods", "MIN_MAX_ASYM,PERCENTILE_ASYM", "--calib-n", "10", "--n", "20",
			"--compare-n", "5", "--iterations", "1", "--json"}, 0},
		{"version", []string{"version", "--json"}, 0},
		{"error", []string{"inspect", filepath.Join(dir, "nope.onnx"), "--json"}, 1},
		{"error", []string{"quantize", "--frob", "--json"}, 2},
	}
	covered := map[string]map[string]bool{}
	for _, r := range runs {
		doc, ok := tables[r.doc]
		require.True(t, ok, "docs/cli.md has no <!-- json-fields: %s --> table", r.doc)
		code, out, errOut := runCLI(r.args...)
		require.Equal(t, r.code, code, "%v: %s", r.args, errOut)
		var v any
		require.NoError(t, json.Unmarshal([]byte(out), &v), "%v", r.args)
		keys, empty := map[string]bool{}, map[string]bool{}
		jsonPaths(v, "", doc, keys, empty)
		documented := map[string]bool{}
		for _, k := range doc.keys {
			documented[k] = true
		}
		for k := range keys {
			assert.True(t, documented[k], "warboy %s prints %q, which docs/cli.md does not document", strings.Join(r.args, " "), k)
		}
		for _, k := range doc.keys {
			if !keys[k] && !underEmpty(k, empty) {
				assert.Fail(t, "documented field missing", "warboy %s does not print %q (docs/cli.md lists it)", strings.Join(r.args, " "), k)
			}
		}
		if covered[r.doc] == nil {
			covered[r.doc] = map[string]bool{}
		}
		for k := range keys {
			covered[r.doc][k] = true
		}
	}
	// Every documented field was seen at least once, so no table row is unchecked; and
	// every command has a table.
	for name, doc := range tables {
		for _, k := range doc.keys {
			assert.True(t, covered[name][k], "no run of the test prints %q of %q: add one", k, name)
		}
	}
	for _, cmd := range allCommands() {
		if cmd[0] == "help" {
			continue
		}
		_, ok := tables[strings.Join(cmd, " ")]
		assert.True(t, ok, "docs/cli.md has no <!-- json-fields: %s --> table", strings.Join(cmd, " "))
	}
}

// The two cases the issue names: sim --json prints host_fallbacks as [] when there are
// none; quantize --dynamic --json prints the calibration fields (not applicable: "", 0,
// null) and documents float_nodes.
func TestJSONEmptyFieldsPresent(t *testing.T) {
	code, out, errOut := runCLI("sim", "zoo:tiny_cnn", "--json")
	require.Equal(t, 0, code, errOut)
	var sim map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &sim))
	assert.JSONEq(t, `[]`, string(sim["host_fallbacks"]))
	assert.JSONEq(t, `[]`, string(sim["warnings"]))
	assert.JSONEq(t, `""`, string(sim["trace_file"]))

	code, out, errOut = runCLI("quantize", filepath.Join(testModels, "fmnist_mlp.onnx"), "--dynamic", "-o", filepath.Join(t.TempDir(), "d.onnx"), "--json")
	require.Equal(t, 0, code, errOut)
	var q map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &q))
	for k, want := range map[string]string{"percentile": `0`, "calib_data": `""`, "calib_samples": `0`, "ranges_in": `""`, "ranges_out": `""`,
		"ranges": `null`, "warnings": `[]`, "method": `"dynamic"`} {
		assert.JSONEq(t, want, string(q[k]), k)
	}
	assert.Contains(t, q, "float_nodes")
}
