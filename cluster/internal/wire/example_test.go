package wire_test

import (
	"fmt"

	"github.com/gofutures/gofutures/cluster/internal/wire"
)

func ExampleAppendSeqs() {
	b := wire.AppendSeqs(nil, []uint64{7, 8, 42})
	seqs, err := wire.Seqs(b)
	fmt.Println(seqs, err)
	_, err = wire.Seqs(b[:len(b)-1]) // truncated: rejected, never trusted
	fmt.Println(err != nil)
	// Output:
	// [7 8 42] <nil>
	// true
}
