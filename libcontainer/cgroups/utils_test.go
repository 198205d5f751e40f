package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Write writes a value whole, or a line per write, to an existing file and
// never creates one.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "io.max")
	if err := Write(p, "8:0 rbps=1", false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want not exist", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Write created %s", p)
	}
	if err := os.WriteFile(p, []byte("old contents that are longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, "8:0 rbps=1\n8:16 wbps=2\n", true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "8:0 rbps=1\n8:16 wbps=2\n" {
		t.Fatalf("line by line: %q", b)
	}
	if err := WriteFile(dir, "io.max", "max"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "max" {
		t.Fatalf("WriteFile: %q (truncated and replaced?)", b)
	}
	err := WriteFile(dir, "nope", "1")
	if err == nil || err.Error() != "set nope: no such file or directory" {
		t.Fatalf("WriteFile of a missing file: %v", err)
	}
}

// WriteEach writes each value through one open, and an error names the
// file, and the value whose write failed.
func TestWriteEach(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "devices.allow")
	if err := os.WriteFile(p, []byte("old contents that are longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteEach(dir, "devices.allow", "c 1:3 rwm", "c 1:5 rwm"); err != nil {
		t.Fatal(err)
	}
	// One fd, truncated once: a plain file keeps both writes.
	if b, _ := os.ReadFile(p); string(b) != "c 1:3 rwmc 1:5 rwm" {
		t.Fatalf("contents %q", b)
	}
	err := WriteEach(dir, "nope", "a")
	if err == nil || err.Error() != "set nope: no such file or directory" {
		t.Fatalf("missing file: %v", err)
	}
	// /dev/full takes the open and refuses the write.
	err = WriteEach("/dev", "full", "c 1:3 rwm")
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != `set full to "c 1:3 rwm" (in /dev): no space left on device` {
		t.Fatalf("failed write: %v", err)
	}
}
