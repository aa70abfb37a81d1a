package graph

// unsupportedHint says what a user can do about an operator the project does not
// implement, where there is something to say: control flow comes with exported
// detection post-processing (torchvision's detectors put their NMS inside an If;
// NonMaxSuppression and RoiAlign themselves are implemented).
func unsupportedHint(n *Node) string {
	if n.Domain != "" {
		return ""
	}
	switch n.OpType {
	case "If", "Loop", "Scan":
		return ": control flow with subgraphs is not implemented; export the network without its " +
			"post-processing (for a detector, the backbone and heads up to the raw boxes and scores) " +
			"and run the box decoding and NMS outside the model"
	case "MaxRoiPool":
		return ": detection post-processing is not implemented; export the network up to the raw boxes " +
			"and scores and run it outside the model"
	}
	return ""
}
