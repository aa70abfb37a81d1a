package qat

import (
	"fmt"
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

func TestExpListOps(t *testing.T) {
	m, err := graph.Load("../testdata/models/fmnist_resnet.onnx")
	if err != nil {
		t.Skip(err)
	}
	n, err := New(m, Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range n.ops {
		s := ""
		if f, ok := o.(*fqOp); ok {
			s = fmt.Sprintf(" in=%d out=%d range=%s owner=%v relu=%v", f.in, f.out, f.r.name, f.owner, f.relu != nil)
		}
		fmt.Printf("%T %s%s\n", o, o.label(), s)
	}
	for _, a := range n.plan.Activations {
		fmt.Println("act", a.Name, a.Source, a.IsFixed)
	}
}
