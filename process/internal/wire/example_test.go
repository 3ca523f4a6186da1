package wire_test

import (
	"bytes"
	"fmt"

	"github.com/gofutures/gofutures/process/internal/wire"
)

func Example() {
	var b bytes.Buffer
	start := wire.Begin(&b, wire.KindCall)
	b.Write(wire.AppendCall(nil, wire.Call{ID: 1, Name: "inc"}))
	wire.End(&b, start)

	r := wire.NewReader(&b, wire.DefaultMaxFrame)
	kind, body, err := r.Next()
	if err != nil {
		panic(err)
	}
	c, rest, err := wire.ParseCall(body)
	fmt.Println(kind == wire.KindCall, c.ID, c.Name, len(rest), err)
	// Output: true 1 inc 0 <nil>
}
