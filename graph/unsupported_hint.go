package graph

// unsupportedHint says what a user can do about an operator the project does not
// implement, where there is something to say: Scan is the one control-flow operator
// left (If and Loop are implemented, ops_control.go).
func unsupportedHint(n *Node) string {
	if n.Domain != "" {
		return ""
	}
	switch n.OpType {
	case "Scan":
		return ": Scan is not implemented (If and Loop are); export the loop as a Loop " +
			"(torch.onnx does for scripted loops) or unrolled"
	}
	return ""
}
