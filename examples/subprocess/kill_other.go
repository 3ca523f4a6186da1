//go:build !unix

package main

import "os/exec"

// killGroupOnCancel keeps exec.CommandContext's default: the end of the
// context kills the command (but not its children).
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
}
