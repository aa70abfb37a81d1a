package lower

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// ---- the node dispatcher -------------------------------------------------------------------

var lutOps = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true,
	"Erf": true, "Exp": true, "Log": true, "Abs": true, "Neg": true, "Sqrt": true, "Reciprocal": true,
	"Elu": true, "Selu": true, "Celu": true, "Softplus": true, "Softsign": true, "Clip": true, "Gelu": true,
	"Mish": true, "ThresholdedRelu": true, "Sin": true, "Cos": true, "Floor": true, "Ceil": true, "Round": true,
	"Sign": true, "Identity": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"Max": true, "Min": true, "PRelu": true,
}

func (l *lowerer) lowerNode(n *graph.Node) error {
	if l.claimed[n] || l.inLUT[n] {
		return nil
	}
	if grp := l.luts[n]; grp != nil && grp.ln != nil {
		return l.fallbackIfNot(n, l.lowerLayerNormPattern(grp))
	}
	if grp := l.luts[n]; grp != nil {
		return l.fallbackIfNot(n, l.lowerLUT(grp))
	}
	var err error
	switch n.Domain {
	case "", "ai.onnx":
		switch n.OpType {
		case "QuantizeLinear":
			return l.lowerQ(n)
		case "DequantizeLinear":
			return l.lowerDQ(n)
		case "DynamicQuantizeLinear":
			return l.lowerDynQ(n)
		case "Conv":
			err = l.lowerConv(n)
		case "ConvTranspose":
			err = l.lowerConvTranspose(n)
		case "Gemm":
			err = l.lowerGemm(n)
		case "LSTM", "GRU":
			err = l.lowerRecurrent(n)
		case "MatMul":
			err = l.lowerMatMul(n)
		case "Add", "Sub", "Mul", "Div", "Max", "Min":
			err = l.lowerElementwise(n)
		case "MaxPool", "GlobalMaxPool":
			err = l.lowerMaxPool(n)
		case "AveragePool", "GlobalAveragePool":
			err = l.lowerAvgPool(n)
		case "Softmax":
			err = l.lowerSoftmax(n)
		case "LayerNormalization":
			err = l.lowerLayerNorm(n)
		case "InstanceNormalization":
			err = l.lowerInstanceNorm(n)
		case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
			err = l.lowerReshape(n)
		case "Transpose":
			err = l.lowerTranspose(n)
		case "Identity", "Dropout":
			err = l.lowerIdentity(n)
		case "Concat":
			err = l.lowerConcat(n)
		case "Slice", "Pad", "Resize", "Split", "Gather", "DepthToSpace", "SpaceToDepth", "Expand", "Tile":
			err = l.lowerDataMove(n)
		case "ReduceMax", "ReduceMin":
			err = l.lowerReduceMaxMin(n)
		case "Shape":
			err = l.lowerShape(n)
		case "QLinearConv":
			err = l.lowerQLinearConv(n)
		case "QLinearMatMul":
			err = l.lowerQLinearMatMul(n)
		default:
			if n.OpType == "PRelu" {
				if err = l.lowerChanPRelu(n); err == nil {
					break
				}
			}
			if lutOps[n.OpType] {
				err = l.lowerElementwise(n)
			} else {
				err = notLowered("no int8 implementation of %s", n.OpType)
			}
		}
	case "com.microsoft":
		switch n.OpType {
		case "QLinearAdd", "QLinearMul":
			err = l.lowerQLinearBinary(n)
		case "QLinearGlobalAveragePool":
			err = l.lowerQLinearGAP(n)
		case "QLinearSigmoid", "QLinearLeakyRelu":
			err = l.lowerQLinearUnary(n)
		default:
			err = notLowered("no int8 implementation of %s", n.OpType)
		}
	default:
		err = notLowered("no int8 implementation of %s (domain %s)", n.OpType, n.Domain)
	}
	return l.fallbackIfNot(n, err)
}

// fallbackIfNot emits n in float32 when err says it was not lowered; other errors are
// returned.
func (l *lowerer) fallbackIfNot(n *graph.Node, err error) error {
	if err == nil {
		return nil
	}
	var nl *errNotLowered
	if !errors.As(err, &nl) {
		return err
	}
	if grp := l.luts[n]; grp != nil {
		for _, m := range grp.nodes {
			if e := l.emitFloat(m, nl.reason); e != nil {
				return e
			}
		}
		return nil
	}
	return l.emitFloat(n, nl.reason)
}

// emitFloat keeps n as a float32 operator of the default executor.
func (l *lowerer) emitFloat(n *graph.Node, reason string) error {
	c := n.Clone()
	touches := false
	for i, in := range n.Inputs {
		if in == "" {
			continue
		}
		if l.qIn(in) != nil && l.dtype(in).IsFloat() {
			touches = true
		}
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		c.Inputs[i] = name
	}
	// Control flow stays float32; the outer values its subgraphs read are needed
	// in float32 too, under the name need gives them.
	rename := map[string]string{}
	for _, in := range n.ImplicitInputs() {
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		rename[in] = name
	}
	if len(rename) > 0 {
		c.RenameImplicit(func(s string) string {
			if r, ok := rename[s]; ok {
				return r
			}
			return s
		})
	}
	for _, o := range n.Outputs {
		if o == "" {
			continue
		}
		for _, u := range l.cons[o] {
			if u.OpType == "QuantizeLinear" {
				touches = true
			}
		}
		l.state(o).avail = true
	}
	l.nodes = append(l.nodes, c)
	if touches && !l.exec.HasInt8Kernel(n.Domain, n.OpType) && n.OpType != "Constant" {
		msg := fmt.Sprintf("int8: %s runs in float32: %s", n.Label(), reason)
		l.warned = append(l.warned, msg)
		if l.cfg.Warn != nil {
			l.cfg.Warn(msg)
		}
	}
	return nil
}
