// Package floor measures what this machine allows at the least, to set the
// process benchmarks' figures against: starting a minimal Go program and
// one round trip on a pipe with it (Exec).
package floor

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tinySource is the minimal Go program: it reads one byte from its standard
// input, writes it back on its standard output, and exits at the end of its
// input.
const tinySource = `package main

import "os"

func main() {
	b := make([]byte, 1)
	if n, _ := os.Stdin.Read(b); n == 1 {
		os.Stdout.Write(b)
	}
	for {
		if _, err := os.Stdin.Read(b); err != nil {
			return
		}
	}
}
`

// Exec is a minimal Go program built in a temporary directory.
type Exec struct {
	dir, bin string
}

// New builds the minimal program with the go command (from PATH). It
// blocks for the build (a second or so). Close removes it.
func New() (*Exec, error) {
	dir, err := os.MkdirTemp("", "gofutures-floor-")
	if err != nil {
		return nil, err
	}
	e := &Exec{dir: dir, bin: filepath.Join(dir, "tiny")}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(tinySource), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	cmd := exec.Command("go", "build", "-o", e.bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.Close()
		return nil, fmt.Errorf("building the minimal program: %w: %s", err, out)
	}
	return e, nil
}

// At returns the minimal program built by New (in another process) at path.
// Close on it removes nothing.
func At(path string) *Exec { return &Exec{bin: path} }

// Path returns the minimal program's path.
func (e *Exec) Path() string { return e.bin }

// PeakKB starts the minimal program, waits for its byte back (it has
// started), reads its peak RSS (VmHWM, KiB), and lets it exit.
func (e *Exec) PeakKB() (int64, error) {
	cmd, in, err := e.roundTrip()
	if err != nil {
		return 0, err
	}
	defer func() {
		_ = in.Close()
		_ = cmd.Wait()
	}()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", cmd.Process.Pid)
}

// Exec starts the minimal program, sends it one byte on a pipe, reads it
// back, closes its input and waits for it to exit: the floor of a helper's
// start, first round trip and exit. It returns how long that took.
func (e *Exec) Exec() (time.Duration, error) {
	start := time.Now()
	cmd, in, err := e.roundTrip()
	if err != nil {
		return 0, err
	}
	_ = in.Close()
	if err := cmd.Wait(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// roundTrip starts the minimal program and sends it one byte on a pipe,
// which it sends back: then it has started. The caller closes in (the
// program then exits) and waits for cmd. On error the program is killed
// and reaped.
func (e *Exec) roundTrip() (*exec.Cmd, io.WriteCloser, error) {
	cmd := exec.Command(e.bin)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	b := []byte{7}
	_, err = in.Write(b)
	if err == nil {
		var n int
		if n, err = out.Read(b); n != 1 {
			err = fmt.Errorf("minimal program: %d bytes back: %v", n, err)
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = in.Close()
		_ = cmd.Wait()
		return nil, nil, err
	}
	return cmd, in, nil
}

// Close removes the minimal program built by New.
func (e *Exec) Close() {
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// Build builds the main package pkg (an import path of the module the
// working directory is in) to a file in dir with the go command (from
// PATH), and returns its path. It blocks for the build.
func Build(dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w: %s", pkg, err, out)
	}
	return bin, nil
}
