package qat

import (
	"runtime"
	"sync"
)

// tensor is an activation of the training program: row-major data, its gradient
// (allocated for the backward pass) and its shape (the leading dimension is the batch).
type tensor struct {
	shape []int
	data  []float32
	grad  []float32
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// resize sets the shape and makes data hold that many elements, reusing the buffer.
func (t *tensor) resize(shape []int) {
	t.shape = append(t.shape[:0], shape...)
	n := numel(shape)
	if cap(t.data) < n {
		t.data = make([]float32, n)
	}
	t.data = t.data[:n]
}

// zeroGrad makes grad a zero slice of data's length.
func (t *tensor) zeroGrad() {
	t.sizeGrad()
	clear(t.grad)
}

// sizeGrad gives the gradient the length of the data, without clearing it
// (for a gradient that its only writer overwrites).
func (t *tensor) sizeGrad() {
	n := len(t.data)
	if cap(t.grad) < n {
		t.grad = make([]float32, n)
	}
	t.grad = t.grad[:n]
}

// Param is a trainable float32 parameter (a weight, bias, BatchNorm scale or shift),
// with its gradient and optimizer state.
type Param struct {
	Name  string
	Shape []int
	W, G  []float32
	// Decay says whether weight decay applies (weights yes, biases and BN no).
	Decay bool
	// frozen: no gradient reaches it (Net.NoGradient); the optimizer leaves it
	// as it is (AdamW's weight decay included, as PyTorch skips a parameter
	// without a gradient).
	frozen bool
	m, v   []float32
}

func newParam(name string, shape []int, data []float32, decay bool) *Param {
	w := append([]float32(nil), data...)
	return &Param{Name: name, Shape: append([]int(nil), shape...), W: w, G: make([]float32, len(w)), Decay: decay}
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func resolveThreads(threads int) int {
	if threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return threads
}

// parallel runs f over [0, n) split into contiguous chunks on up to threads goroutines.
func parallel(n, threads int, f func(lo, hi int)) {
	threads = resolveThreads(threads)
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + threads - 1) / threads
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
