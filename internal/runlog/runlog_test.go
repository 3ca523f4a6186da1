package runlog_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofutures/gofutures/internal/runlog"
)

func TestAppendCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs")
	if n, err := runlog.Count(path); n != 0 || err != nil {
		t.Fatalf("Count of a missing file = %d, %v", n, err)
	}
	for want := 1; want <= 3; want++ {
		if n, err := runlog.Append(path); n != want || err != nil {
			t.Fatalf("Append = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := runlog.Count(path); n != 3 || err != nil {
		t.Fatalf("Count = %d, %v; want 3", n, err)
	}
	if _, err := runlog.Append(filepath.Join(t.TempDir(), "no", "dir")); err == nil {
		t.Fatal("Append into a missing directory succeeded")
	}
}

func TestTemporary(t *testing.T) {
	if e := (runlog.Temporary{}); !e.Temporary() || e.Timeout() {
		t.Error("Temporary{} is not temporary")
	}
	if e := (runlog.Temporary{IsTimeout: true}); e.Temporary() || !e.Timeout() {
		t.Error("Temporary{IsTimeout: true} is not a timeout")
	}
}

func Example() {
	dir, err := os.MkdirTemp("", "runlog")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "runs")
	task := func() error { // what a test runs, maybe in another process
		_, err := runlog.Append(path)
		return err
	}
	for range 2 {
		if err := task(); err != nil {
			log.Fatal(err)
		}
	}
	n, err := runlog.Count(path)
	fmt.Println(n, err)
	// Output: 2 <nil>
}
