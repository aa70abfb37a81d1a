package graph

// The shape schema of com.microsoft RotaryEmbedding (ONNX Runtime's contrib
// operator; onnxruntime-genai's model builder writes it for Llama-style
// decoders): rotary position embedding of q or k, [B, S, hidden] or
// [B, heads, S, head], from position_ids ([B, S], or [1]: an offset added to
// 0..S-1) and cos/sin caches [max_position, rotary_dim/2]. The output has the
// input's shape.

var rotaryAttrs = []string{"interleaved", "is_packed_batching", "num_heads", "rotary_embedding_dim", "scale"}

// CheckRotaryAttrs refuses the attribute values the kernel does not implement.
func CheckRotaryAttrs(n *Node) error {
	if p := n.AttrInt("is_packed_batching", 0); p != 0 {
		return errorf(n, "is_packed_batching %d is not supported (padded batches only)", p)
	}
	if s := n.AttrFloat("scale", 1); s != 1 {
		return errorf(n, "scale %g is not supported (1 only)", s)
	}
	if i := n.AttrInt("interleaved", 0); i != 0 && i != 1 {
		return errorf(n, "interleaved %d must be 0 or 1", i)
	}
	if n.AttrInt("num_heads", 0) < 0 || n.AttrInt("rotary_embedding_dim", 0) < 0 {
		return errorf(n, "num_heads %d and rotary_embedding_dim %d must not be negative",
			n.AttrInt("num_heads", 0), n.AttrInt("rotary_embedding_dim", 0))
	}
	if n.AttrInt("rotary_embedding_dim", 0) > 0 && n.AttrInt("num_heads", 0) == 0 {
		return errorf(n, "rotary_embedding_dim %d needs num_heads", n.AttrInt("rotary_embedding_dim", 0))
	}
	return nil
}

// RotaryFit checks that the input's last dimension (hidden for a rank-3 input,
// the head size for rank 4), num_heads, rotary_embedding_dim and the caches'
// column count (rotary_dim/2) fit, and returns the head size and rotary
// dimension. It is the one check both shape inference (inspect, every command
// reading the model) and the kernel (run, on actual shapes) make.
func RotaryFit(n *Node, rank, last, half int) (head, rot int, err error) {
	heads := int(n.AttrInt("num_heads", 0))
	switch rank {
	case 3:
		head = 2 * half
		if heads > 0 {
			head = last / heads
		}
		if head == 0 || last%head != 0 {
			return 0, 0, errorf(n, "hidden size %d is not a multiple of the head size %d (num_heads %d, caches of %d columns)",
				last, head, heads, half)
		}
	case 4:
		head = last
	default:
		return 0, 0, errorf(n, "input has rank %d, expected [B, S, hidden] or [B, heads, S, head]", rank)
	}
	rot = head
	if r := int(n.AttrInt("rotary_embedding_dim", 0)); r > 0 {
		rot = r
	}
	if rot > head || rot%2 != 0 || rot/2 != half {
		return 0, 0, errorf(n, "rotary dimension %d does not fit head size %d and caches of %d columns (cos_cache and sin_cache must be [max_position, rotary_dim/2])",
			rot, head, half)
	}
	return head, rot, nil
}

func inferRotary(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 4, 4); err != nil {
		return nil, nil, err
	}
	if err := CheckRotaryAttrs(c.Node); err != nil {
		return nil, nil, err
	}
	for i, ts := range []typeSet{{Float32}, {Int64}, {Float32}, {Float32}} {
		if err := checkInputType(c, i, ts); err != nil {
			return nil, nil, err
		}
	}
	x, pos, cos, sin := c.Input(0), c.Input(1), c.Input(2), c.Input(3)
	if x.HasShape && len(x.Shape) != 3 && len(x.Shape) != 4 {
		return nil, nil, c.Errorf("input has shape %s, expected [B, S, hidden] or [B, heads, S, head]", x.Shape)
	}
	if pos.HasShape && len(pos.Shape) != 1 && len(pos.Shape) != 2 {
		return nil, nil, c.Errorf("position_ids has shape %s, expected [B, S] or [1]", pos.Shape)
	}
	for _, v := range []*Value{cos, sin} {
		if v.HasShape && len(v.Shape) != 2 {
			return nil, nil, c.Errorf("cos_cache and sin_cache must be 2-D [max_position, rotary_dim/2], one has shape %s", v.Shape)
		}
	}
	if cos.HasShape && sin.HasShape && cos.Shape[1].Known() && sin.Shape[1].Known() && cos.Shape[1].Size != sin.Shape[1].Size {
		return nil, nil, c.Errorf("cos_cache %s and sin_cache %s differ", cos.Shape, sin.Shape)
	}
	if x.HasShape && cos.HasShape && x.Shape[len(x.Shape)-1].Known() && cos.Shape[1].Known() {
		if _, _, err := RotaryFit(c.Node, len(x.Shape), x.Shape[len(x.Shape)-1].Size, cos.Shape[1].Size); err != nil {
			return nil, nil, err
		}
	}
	return finish(c, &Value{DType: Float32, Shape: append(Shape{}, x.Shape...), HasShape: x.HasShape})
}

func init() {
	RegisterOp(OpSchema{OpType: "RotaryEmbedding", Domain: msDomain, SinceOpset: 1, Attrs: rotaryAttrs, Infer: inferRotary})
}
