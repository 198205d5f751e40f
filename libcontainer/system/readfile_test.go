package system

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// ReadFile returns what os.ReadFile returns: whole files of any size, from
// procfs (size 0 in stat) too, and the same errors.
func TestReadFileAsOS(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // past the first buffer
	for name, data := range map[string][]byte{"empty": nil, "small": []byte("42\n"), "big": big} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want %d bytes", name, len(got), err, len(data))
		}
	}
	want, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile("/proc/self/mountinfo")
	if err != nil || len(got) == 0 || !bytes.HasPrefix(got, want[:bytes.IndexByte(want, '\n')]) {
		t.Errorf("ReadFile(/proc/self/mountinfo) = %q..., %v", got[:min(len(got), 40)], err)
	}
	_, werr := os.ReadFile(filepath.Join(dir, "none"))
	_, err = ReadFile(filepath.Join(dir, "none"))
	if err == nil || err.Error() != werr.Error() || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v; os.ReadFile says %v", err, werr)
	}
	_, werr = os.ReadFile(dir)
	_, err = ReadFile(dir)
	if err == nil || err.Error() != werr.Error() {
		t.Errorf("ReadFile of a directory: %v; os.ReadFile says %v", err, werr)
	}
}
