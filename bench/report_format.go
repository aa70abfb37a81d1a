package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func worstLayers(m MethodReport) string {
	parts := make([]string, 0, len(m.WorstLayers))
	for _, l := range m.WorstLayers {
		parts = append(parts, fmt.Sprintf("%s %s dB", l.Tensor, fmtDB(l.SQNR)))
	}
	return strings.Join(parts, "; ")
}

func ms(l *LatencyStats, f func(*LatencyStats) float64) string {
	if l == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", f(l))
}

// WriteMarkdown writes the report as Markdown tables, ready to paste into a document.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## warboy bench: %s\n\n", r.Model)
	fmt.Fprintf(w, "Data: %s, %d evaluation images, %d calibration images. CPU: %d threads, int8 kernels %s, float32 kernels %s.\n\n",
		r.Data, r.EvalImages, r.CalibImages, r.Threads, r.Int8Path, r.F32Path)
	fmt.Fprintf(w, "Float32: accuracy %s, model %s, CPU latency p50 %s ms / p95 %s ms / p99 %s ms (batch 1).\n\n",
		pct(r.FloatAccuracy), fmtBytes(r.FloatSizeBytes), ms(r.CPUFloat32, p50), ms(r.CPUFloat32, p95), ms(r.CPUFloat32, p99))
	fmt.Fprintln(w, "### Accuracy (top-1, int8 vs float32)")
	fmt.Fprintln(w)
	rows := [][]string{}
	for _, m := range r.Methods {
		name := m.Method
		if m.Best {
			name = "**" + name + "** (best)"
		}
		rows = append(rows, []string{name, pct(m.FloatAccuracy), pct(m.Int8Accuracy), fmt.Sprintf("%.4f", m.Ratio), worstLayers(m)})
	}
	mdTable(w, []string{"method", "float32", "int8", "int8/float", "worst layers (SQNR)"}, rows)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Latency (batch 1)")
	fmt.Fprintln(w)
	rows = rows[:0]
	for _, m := range r.Methods {
		name := m.Method
		if m.Best {
			name = "**" + name + "**"
		}
		rows = append(rows, []string{name,
			fmt.Sprintf("%.1f", m.SimSingleUS), fmt.Sprintf("%.1f", m.SimFusedUS), fmt.Sprintf("%.1f", m.SimNPUFusedUS),
			fmt.Sprintf("%.0f", m.SimThroughput), fmt.Sprintf("%.1f %%", 100*m.MACUtilization),
			ms(m.CPUInt8, p50), ms(m.CPUInt8, p95), ms(m.CPUInt8, p99), fmtBytes(m.Int8SizeBytes)})
	}
	mdTable(w, []string{"method", "Warboy 1 PE (us)", "Warboy fused (us)", "fused NPU only (us)",
		"Warboy " + modeOf(r) + " (img/s)", "MAC util.", "CPU int8 p50 (ms)", "p95", "p99", "int8 size"}, rows)
	fmt.Fprintf(w, "\nCPU float32 p50 %s ms; model size float32 %s. Warboy latencies are end to end (host Quantize/Dequantize, PCIe, NPU); \"NPU only\" is the NPU run.\n",
		ms(r.CPUFloat32, p50), fmtBytes(r.FloatSizeBytes))
	fmt.Fprintf(w, "Best method: %s. Report took %.1f s.\n", r.Best, r.WallSeconds)
	return nil
}

func modeOf(r *Report) string {
	if len(r.Methods) > 0 {
		return r.Methods[0].SimMode
	}
	return "fused"
}

// WriteCSV writes one row per method.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"model", "method", "best", "float_accuracy", "int8_accuracy", "ratio", "worst_layers",
		"sim_single_us", "sim_fused_us", "sim_npu_fused_us", "sim_throughput_ips", "sim_mode", "sim_mac_utilization",
		"cpu_int8_p50_ms", "cpu_int8_p95_ms", "cpu_int8_p99_ms", "cpu_float32_p50_ms", "cpu_float32_p95_ms", "cpu_float32_p99_ms",
		"float_size_bytes", "int8_size_bytes"}
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, m := range r.Methods {
		row := []string{r.Model, m.Method, strconv.FormatBool(m.Best), f(m.FloatAccuracy), f(m.Int8Accuracy), f(m.Ratio), worstLayers(m),
			f(m.SimSingleUS), f(m.SimFusedUS), f(m.SimNPUFusedUS), f(m.SimThroughput), m.SimMode, f(m.MACUtilization),
			ms(m.CPUInt8, p50), ms(m.CPUInt8, p95), ms(m.CPUInt8, p99), ms(r.CPUFloat32, p50), ms(r.CPUFloat32, p95), ms(r.CPUFloat32, p99),
			strconv.FormatInt(r.FloatSizeBytes, 10), strconv.FormatInt(m.Int8SizeBytes, 10)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func p50(l *LatencyStats) float64 { return l.P50Ms }
func p95(l *LatencyStats) float64 { return l.P95Ms }
func p99(l *LatencyStats) float64 { return l.P99Ms }

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func mdTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	fmt.Fprintln(w, "| "+strings.Join(sep, " | ")+" |")
	for _, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
	}
}
