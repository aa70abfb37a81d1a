package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// actOp is a smooth or piecewise-linear elementwise activation (HardSigmoid,
// HardSwish, Tanh, Elu, Selu, Celu, Softplus, Softsign, Mish, Gelu, ThresholdedRelu,
// Shrink, Neg, Abs, Exp, Erf, Sin, Cos, Tan and the inverse and hyperbolic
// functions, Sqrt, Reciprocal, Log, and Pow by a constant exponent). The forward
// pass evaluates in float64 with the runtime's formulas, so that the float values
// the int8 runtime tabulates (a lookup table over the 256 input codes) are the
// ones training saw. At the kinks of the piecewise-linear ones (HardSigmoid's
// saturation points, Abs at 0) the derivative is the one-sided value PyTorch uses.
type actOp struct {
	node    string
	in, out int
	f       func(x float64) float64
	// df returns dy/dx from x and y = f(x); nil for Round, Floor, Ceil and Sign,
	// whose derivative is zero almost everywhere (nograd.go).
	df func(x, y float64) float64
}

// actFuncs returns the forward function and its derivative for an activation node.
func actFuncs(node *graph.Node) (f func(float64) float64, df func(x, y float64) float64, err error) {
	switch node.OpType {
	case "HardSigmoid":
		a := float64(node.AttrFloat("alpha", 0.2))
		b := float64(node.AttrFloat("beta", 0.5))
		return func(x float64) float64 { return max(0, min(1, a*x+b)) },
			func(x, _ float64) float64 {
				if v := a*x + b; v > 0 && v < 1 {
					return a
				}
				return 0
			}, nil
	case "HardSwish":
		// x * HardSigmoid(x) with alpha 1/6, beta 1/2: 0 below -3, x above 3.
		return func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) },
			func(x, _ float64) float64 {
				switch {
				case x < -3:
					return 0
				case x > 3:
					return 1
				}
				return x/3 + 0.5
			}, nil
	case "Tanh":
		return math.Tanh, func(_, y float64) float64 { return 1 - y*y }, nil
	case "Elu":
		a := float64(node.AttrFloat("alpha", 1))
		return func(x float64) float64 {
				if x >= 0 {
					return x
				}
				return a * math.Expm1(x)
			}, func(x, y float64) float64 {
				if x >= 0 {
					return 1
				}
				return y + a
			}, nil
	case "Selu":
		a := float64(node.AttrFloat("alpha", 1.67326319217681884765625))
		g := float64(node.AttrFloat("gamma", 1.05070102214813232421875))
		return func(x float64) float64 {
				if x > 0 {
					return g * x
				}
				return g * a * math.Expm1(x)
			}, func(x, y float64) float64 {
				if x > 0 {
					return g
				}
				return y + g*a
			}, nil
	case "Softplus":
		return softplus, func(x, _ float64) float64 {
			return 1 / (1 + math.Exp(-x))
		}, nil
	case "Softsign":
		return func(x float64) float64 { return x / (1 + math.Abs(x)) },
			func(x, _ float64) float64 {
				d := 1 + math.Abs(x)
				return 1 / (d * d)
			}, nil
	case "Neg":
		return func(x float64) float64 { return -x }, func(_, _ float64) float64 { return -1 }, nil
	case "Abs":
		return math.Abs, func(x, _ float64) float64 {
			if x < 0 {
				return -1
			}
			return 1
		}, nil
	case "Exp":
		return math.Exp, func(_, y float64) float64 { return y }, nil
	case "Sqrt":
		// At 0 the slope is infinite; 0 is taken there, as ReduceL2 (and
		// PyTorch's norm) take it at a zero norm: a written-out standard
		// deviation whose variance the int8 grid rounds to 0 (every value of
		// a channel equal) trains instead of sending infinity back.
		return math.Sqrt, func(_, y float64) float64 {
			if y == 0 {
				return 0
			}
			return 0.5 / y
		}, nil
	case "Reciprocal":
		return func(x float64) float64 { return 1 / x }, func(_, y float64) float64 { return -y * y }, nil
	case "Log":
		return math.Log, func(x, _ float64) float64 { return 1 / x }, nil
	case "Erf":
		return math.Erf, func(x, _ float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) }, nil
	case "Mish": // opset 18: x·tanh(softplus(x)) (YOLOv4, CSPNet)
		return func(x float64) float64 { return x * math.Tanh(softplus(x)) },
			func(x, _ float64) float64 {
				t := math.Tanh(softplus(x))
				return t + x*(1-t*t)/(1+math.Exp(-x))
			}, nil
	case "Gelu": // opset 20; "tanh" is the approximation of BERT and GPT-2
		if node.AttrString("approximate", "none") == "tanh" {
			const c = 0.7978845608028654 // sqrt(2/pi)
			return func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x))) },
				func(x, _ float64) float64 {
					t := math.Tanh(c * (x + 0.044715*x*x*x))
					return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
				}, nil
		}
		return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
			func(x, _ float64) float64 {
				return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
			}, nil
	case "Celu":
		a := float64(node.AttrFloat("alpha", 1))
		return func(x float64) float64 { return max(0, x) + min(0, a*math.Expm1(x/a)) },
			func(x, _ float64) float64 {
				if x > 0 {
					return 1
				}
				return math.Exp(x / a)
			}, nil
	case "ThresholdedRelu":
		a := float64(node.AttrFloat("alpha", 1))
		return func(x float64) float64 {
				if x > a {
					return x
				}
				return 0
			}, func(x, _ float64) float64 {
				if x > a {
					return 1
				}
				return 0
			}, nil
	case "Shrink":
		lambd := float64(node.AttrFloat("lambd", 0.5))
		bias := float64(node.AttrFloat("bias", 0))
		return func(x float64) float64 {
				switch {
				case x < -lambd:
					return x + bias
				case x > lambd:
					return x - bias
				}
				return 0
			}, func(x, _ float64) float64 {
				if x < -lambd || x > lambd {
					return 1
				}
				return 0
			}, nil
	case "Sin":
		return math.Sin, func(x, _ float64) float64 { return math.Cos(x) }, nil
	case "Cos":
		return math.Cos, func(x, _ float64) float64 { return -math.Sin(x) }, nil
	case "Tan":
		return math.Tan, func(_, y float64) float64 { return 1 + y*y }, nil
	case "Asin": // ±1 at the ends: an infinite slope, as in PyTorch
		return math.Asin, func(x, _ float64) float64 { return 1 / math.Sqrt(1-x*x) }, nil
	case "Acos":
		return math.Acos, func(x, _ float64) float64 { return -1 / math.Sqrt(1-x*x) }, nil
	case "Atan":
		return math.Atan, func(x, _ float64) float64 { return 1 / (1 + x*x) }, nil
	case "Sinh":
		return math.Sinh, func(x, _ float64) float64 { return math.Cosh(x) }, nil
	case "Cosh":
		return math.Cosh, func(x, _ float64) float64 { return math.Sinh(x) }, nil
	case "Asinh":
		return math.Asinh, func(x, _ float64) float64 { return 1 / math.Sqrt(x*x+1) }, nil
	case "Acosh":
		return math.Acosh, func(x, _ float64) float64 { return 1 / math.Sqrt(x*x-1) }, nil
	case "Atanh":
		return math.Atanh, func(x, _ float64) float64 { return 1 / (1 - x*x) }, nil
	}
	return nil, nil, fmt.Errorf("%w: %s", ErrNoGradient, node.OpType)
}

// softplus is log(1 + e^x), without overflow for large x.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func buildAct(b *builder, node *graph.Node) (built, error) {
	f, df, err := actFuncs(node)
	if err != nil {
		return built{}, err
	}
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &actOp{node: node.Label(), in: in, out: b.slot(), f: f, df: df}
	return built{o, o.out}, nil
}

func (o *actOp) label() string { return o.node }

func (o *actOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	y.resize(x.shape)
	parallel(len(x.data), n.threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y.data[i] = float32(o.f(float64(x.data[i])))
		}
	})
	return nil
}

func (o *actOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil || o.df == nil { // df nil: a zero-gradient step (nograd.go)
		return
	}
	parallel(len(x.data), n.threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if g := y.grad[i]; g != 0 { // 0 · ∞ (Sqrt, Log, Reciprocal at 0) passes nothing
				x.grad[i] += g * float32(o.df(float64(x.data[i]), float64(y.data[i])))
			}
		}
	})
}

// buildPow is Pow with a constant scalar exponent (x^2 in a written-out layer norm's
// variance, x^0.5): an elementwise function of x.
func buildPow(b *builder, node *graph.Node) (built, error) {
	t := b.g.Initializers[node.Input(1)]
	if t == nil || t.Len() != 1 {
		return built{}, fmt.Errorf("%w: Pow exponent %q is not a constant scalar", ErrNoGradient, node.Input(1))
	}
	e, err := t.AsFloat64()
	if err != nil {
		return built{}, fmt.Errorf("%w: Pow exponent %q: %v", ErrNoGradient, node.Input(1), err)
	}
	p := e[0]
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &actOp{node: node.Label(), in: in, out: b.slot(),
		f: func(x float64) float64 { return math.Pow(x, p) },
		df: func(x, _ float64) float64 {
			if p == 2 {
				return 2 * x
			}
			return p * math.Pow(x, p-1)
		}}
	return built{o, o.out}, nil
}

// preluOp is PRelu: y = x for x > 0, slope*x otherwise, with a trainable slope that
// broadcasts to x (one per channel, [C, 1, 1], as PyTorch exports nn.PReLU).
type preluOp struct {
	node    string
	in, out int
	slope   *Param
	shape   []int
	idx     []int32 // per element of x, its slope
}

func buildPRelu(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	if b.g.Initializers[node.Input(1)] == nil {
		return built{}, fmt.Errorf("%w: PRelu slope %q is not an initializer", ErrNoGradient, node.Input(1))
	}
	slope, err := b.param(node.Input(1), false)
	if err != nil {
		return built{}, fmt.Errorf("slope: %w", err)
	}
	o := &preluOp{node: node.Label(), in: in, out: b.slot(), slope: slope}
	return built{o, o.out}, nil
}

func (o *preluOp) label() string { return o.node }

func (o *preluOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if o.idx == nil || !equalShape(o.shape, x.shape) {
		shape, _, ib, err := broadcastIndex(x.shape, o.slope.Shape)
		if err != nil {
			return err
		}
		if !equalShape(shape, x.shape) {
			return fmt.Errorf("slope of shape %v does not broadcast to the input %v", o.slope.Shape, x.shape)
		}
		o.idx, o.shape = ib, append([]int(nil), x.shape...)
	}
	y.resize(x.shape)
	s := o.slope.W
	parallel(len(x.data), n.threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x.data[i]
			if v < 0 {
				v *= s[o.idx[i]]
			}
			y.data[i] = v
		}
	})
	return nil
}

func (o *preluOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	s, gs := o.slope.W, o.slope.G
	for i, g := range y.grad {
		v := x.data[i]
		if v < 0 {
			gs[o.idx[i]] += g * v
			g *= s[o.idx[i]]
		}
		if x.grad != nil {
			x.grad[i] += g
		}
	}
}
