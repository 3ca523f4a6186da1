// Package runlog counts executions by their side effects, for tests that
// prove how many times a function ran (in this process, in a helper or on a
// cluster worker): each execution appends a line to a file, and the test
// reads the count back.
package runlog
