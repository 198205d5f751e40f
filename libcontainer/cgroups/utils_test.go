package cgroups

import (
	"errors"
	"os"
	"path/filepath"
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
