// Command subprocess runs external commands as tasks on a goroutine pool,
// each with its own timeout, and reports their output and exit codes.
//
// It writes a few files into a temporary directory and hashes each with
// sha256sum (checking the result against crypto/sha256), runs a command
// that fails with exit code 3 and prints to stderr, and one that overruns
// its timeout (sleep 10 with a 200ms timeout), which is killed.
//
// The pattern for a command with a timeout is exec.CommandContext with a
// context.WithTimeout per command, plus two fields of exec.Cmd:
//
//   - Cancel says how to stop the command when the context ends. Here it
//     kills the command's whole process group, so that children the command
//     started (a shell's, say) die with it (Unix; elsewhere the command
//     alone is killed).
//   - WaitDelay bounds how long Wait then waits for the output pipes to
//     close, in case a grandchild keeps them open.
//
// Run it with:
//
//	go run ./examples/subprocess
//
// It needs sha256sum (or shasum), sleep and sh on PATH, finishes in well
// under a second, and exits 0 when every command behaved as expected.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofutures/gofutures/executor"
	"github.com/gofutures/gofutures/future"
)

// outcome is what running one command gave.
type outcome struct {
	stdout, stderr string
	exitCode       int  // -1 if it did not exit normally
	timedOut       bool // killed because it overran its timeout
	took           time.Duration
}

// runCommand runs argv with a timeout and captures its output. Its error is
// nil when the command exited 0; otherwise the outcome still says what
// happened.
func runCommand(ctx context.Context, timeout time.Duration, argv ...string) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 100 * time.Millisecond

	start := time.Now()
	err := cmd.Run()
	o := outcome{
		stdout:   strings.TrimSpace(stdout.String()),
		stderr:   strings.TrimSpace(stderr.String()),
		exitCode: cmd.ProcessState.ExitCode(), // -1 if killed or not started
		timedOut: errors.Is(ctx.Err(), context.DeadlineExceeded),
		took:     time.Since(start),
	}
	if o.timedOut {
		return o, fmt.Errorf("%s: killed after %v: %w", argv[0], timeout, ctx.Err())
	}
	if err != nil {
		return o, fmt.Errorf("%s: %w", argv[0], err)
	}
	return o, nil
}

// job is a command to run and what to expect of it.
type job struct {
	argv    []string
	timeout time.Duration
	check   func(outcome, error) error // nil if the outcome is the expected one
}

func main() {
	workers := flag.Int("workers", 3, "commands running at once")
	timeout := flag.Duration("timeout", 200*time.Millisecond, "timeout of the command that overruns (sleep 10)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*workers, *timeout); err != nil {
		log.Fatal(err)
	}
}

func run(workers int, timeout time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gofutures-subprocess-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	hasher, err := sha256Command()
	if err != nil {
		return err
	}
	var jobs []job
	for i, size := range []int{0, 1 << 10, 1 << 16, 1 << 20} {
		name := filepath.Join(dir, fmt.Sprintf("file%d.bin", i))
		data := bytes.Repeat([]byte{byte('a' + i)}, size)
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		want := hex.EncodeToString(sum[:])
		jobs = append(jobs, job{argv: append(hasher, name), timeout: 5 * time.Second,
			check: func(o outcome, err error) error {
				if err != nil {
					return err
				}
				if got, _, _ := strings.Cut(o.stdout, " "); got != want {
					return fmt.Errorf("hash %s, want %s", got, want)
				}
				return nil
			}})
	}
	jobs = append(jobs,
		job{argv: []string{"sh", "-c", "echo 'disk on fire' >&2; exit 3"}, timeout: 5 * time.Second,
			check: func(o outcome, err error) error {
				if o.exitCode != 3 || o.stderr != "disk on fire" {
					return fmt.Errorf("exit code %d, stderr %q; want 3 and the message", o.exitCode, o.stderr)
				}
				return nil
			}},
		job{argv: []string{"sleep", "10"}, timeout: timeout,
			check: func(o outcome, err error) error {
				if !o.timedOut || !errors.Is(err, context.DeadlineExceeded) || o.took > 5*time.Second {
					return fmt.Errorf("not killed at its timeout (took %v, err %v)", o.took, err)
				}
				return nil
			}},
	)

	pool, err := executor.NewGoPool(executor.WithName("subprocess"), executor.WithWorkers(workers))
	if err != nil {
		return err
	}
	defer pool.Shutdown(ctx)
	fs := make([]*future.Future[outcome], len(jobs))
	jobOf := make(map[*future.Future[outcome]]job, len(jobs))
	for i, j := range jobs {
		if fs[i], err = executor.Submit(ctx, pool, func(ctx context.Context) (outcome, error) {
			return runCommand(ctx, j.timeout, j.argv...)
		}); err != nil {
			return err
		}
		jobOf[fs[i]] = j
	}

	var unexpected int
	for f, err := range future.AsCompleted(ctx, fs) {
		if err != nil {
			return err
		}
		j := jobOf[f]
		o, err := f.Result(ctx)
		cmdline := strings.Join(j.argv, " ")
		cmdline = strings.ReplaceAll(cmdline, dir+string(filepath.Separator), "")
		switch {
		case o.timedOut:
			fmt.Printf("%-40s killed: overran its %v timeout\n", cmdline, j.timeout)
		case err != nil:
			fmt.Printf("%-40s exit code %d, stderr %q\n", cmdline, o.exitCode, o.stderr)
		default:
			fmt.Printf("%-40s exit code 0, %.16s… in %v\n", cmdline, o.stdout, o.took.Round(time.Millisecond))
		}
		if cerr := j.check(o, err); cerr != nil {
			unexpected++
			fmt.Printf("  UNEXPECTED: %v\n", cerr)
		}
	}
	if unexpected > 0 {
		return fmt.Errorf("%d commands did not behave as expected", unexpected)
	}
	fmt.Println("all commands behaved as expected")
	return nil
}

// sha256Command returns the command that prints a file's SHA-256 as
// "HASH  NAME".
func sha256Command() ([]string, error) {
	if _, err := exec.LookPath("sha256sum"); err == nil {
		return []string{"sha256sum"}, nil
	}
	if _, err := exec.LookPath("shasum"); err == nil {
		return []string{"shasum", "-a", "256"}, nil
	}
	return nil, errors.New("neither sha256sum nor shasum is on PATH")
}
