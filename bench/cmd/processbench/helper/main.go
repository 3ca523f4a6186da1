// Command helper is the lean helper binary of processbench and
// startupprobe (process.WithHelper): the functions of package benchfuncs
// and process.Serve, nothing else, as the recipe in package process's
// documentation says. The benchmarks build it themselves.
package main

import (
	"github.com/gofutures/gofutures/bench/internal/benchfuncs"
	"github.com/gofutures/gofutures/process"
)

func main() {
	benchfuncs.MainAt = benchfuncs.Mono()
	process.Serve(benchfuncs.Registry)
}
