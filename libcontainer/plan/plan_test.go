package plan

import (
	"strings"
	"testing"
)

// Encode sizes its buffer once: a part of a few KiB (a container's
// mounts) would otherwise be copied each time append doubled it.
func TestEncodeAllocatesOnce(t *testing.T) {
	var p Part
	for i := range 200 {
		p.Steps = append(p.Steps, Step{Op: OpMount, Args: []Arg{Int(1), Str("tmpfs"), Str(strings.Repeat("d", i)), Int(14), Str("")}})
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if n := p.encodedSize(); n < len(b) {
		t.Fatalf("encodedSize %d, Encode wrote %d", n, len(b))
	}
	if a := testing.AllocsPerRun(5, func() { p.Encode() }); a != 1 {
		t.Fatalf("Encode made %v allocations, want 1", a)
	}
}
