// Package progress draws a progress bar for long runs (evaluation, calibration,
// benchmarks) on a terminal, and stays silent when the output is a file or a pipe so
// that logs and CI output are not flooded.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// Bar is a text progress bar. A nil *Bar is valid and draws nothing.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	done     int
	start    time.Time
	lastDraw time.Time
}

// New returns a bar drawing on w when w is a terminal, else nil (no output).
func New(w io.Writer, label string, total int) *Bar {
	if w == nil || !IsTerminal(w) {
		return nil
	}
	return &Bar{w: w, label: label, total: total, start: time.Now()}
}

// Force returns a bar that draws on w whatever w is (for tests).
func Force(w io.Writer, label string, total int) *Bar {
	return &Bar{w: w, label: label, total: total, start: time.Now()}
}

// Set records progress; it redraws at most 10 times a second.
func (b *Bar) Set(done int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	if time.Since(b.lastDraw) < 100*time.Millisecond && done < b.total {
		return
	}
	b.lastDraw = time.Now()
	b.draw()
}

// Add advances the bar by n.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	d := b.done + n
	b.mu.Unlock()
	b.Set(d)
}

// Callback adapts the bar to the func(done, total) hooks of the library packages.
func (b *Bar) Callback() func(done, total int) {
	return func(done, total int) {
		if b == nil {
			return
		}
		b.mu.Lock()
		if total > 0 {
			b.total = total
		}
		b.mu.Unlock()
		b.Set(done)
	}
}

func (b *Bar) draw() {
	const width = 30
	frac := 0.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	if frac > 1 {
		frac = 1
	}
	fill := int(frac * width)
	el := time.Since(b.start)
	eta := ""
	if frac > 0 && frac < 1 {
		rem := time.Duration(float64(el) * (1 - frac) / frac)
		eta = " eta " + rem.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d %3.0f%% %s%s   ", b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		b.done, b.total, 100*frac, el.Round(100*time.Millisecond), eta)
}

// Done finishes the line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
	fmt.Fprintln(b.w)
}
