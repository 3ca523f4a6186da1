// Command helper is the lean-helper example's helper binary: the
// registrations of package tasks and process.Serve, nothing else. The
// host starts it with process.WithHelper; it does not run by hand.
package main

import (
	"github.com/gofutures/gofutures/examples/lean-helper/tasks"
	"github.com/gofutures/gofutures/process"
)

func main() { process.Serve(tasks.Registry) }
