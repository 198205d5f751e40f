package nsenter

import (
	"testing"

	"github.com/teu-runtime/teu/libcontainer/plan"
)

// The C decoder and the Go encoder agree on every op's signature.
func TestOpTablesAgree(t *testing.T) {
	for op := uint16(0); op < 256; op++ {
		goSig, goOK := plan.Sig(plan.Op(op))
		cSig, cOK := opSig(op)
		if goOK != cOK || goSig != cSig {
			t.Errorf("op %d (%s): Go %q/%v, C %q/%v", op, plan.Op(op), goSig, goOK, cSig, cOK)
		}
	}
}

func samplePart() plan.Part {
	return plan.Part{First: 7, Steps: []plan.Step{
		{Op: plan.OpAdopt, Args: []plan.Arg{plan.Int(0), plan.Int(5)}},
		{Op: plan.OpMount, Args: []plan.Arg{plan.Int(1), plan.Str("proc"), plan.Str("proc"), plan.Int(14), plan.Str("")},
			AltErrnos: []int{1}, SkipAlt: 1},
		{Op: plan.OpNop, SkipOK: 1},
		{Op: plan.OpHook, Args: []plan.Arg{plan.Str("/bin/true"), plan.Strs([]string{"true"}), plan.Strs(nil), plan.Int(0),
			plan.Str(""), plan.Blob([]byte(`{"id":"x"}`))}, Late: true, Desc: "startContainer hook #0"},
		{Op: plan.OpExec, Args: []plan.Arg{plan.Str("/bin/sh"), plan.Strs([]string{"sh", "-c", "x"}), plan.Strs([]string{"A=1"})}},
	}}
}

func TestDecodeWhatGoEncodes(t *testing.T) {
	p := samplePart()
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	n, err := decodePart(b)
	if err != nil || n != len(p.Steps) {
		t.Fatalf("C decoded %d steps, %v; want %d", n, err, len(p.Steps))
	}
	back, err := plan.Decode(b)
	if err != nil || len(back.Steps) != len(p.Steps) || back.First != 7 || back.Steps[3].Desc != "startContainer hook #0" {
		t.Fatalf("Go decoded %+v, %v", back, err)
	}
	// Every truncation and any flipped length is refused whole.
	for i := 0; i < len(b); i++ {
		if _, err := decodePart(b[:i]); err == nil {
			t.Fatalf("C accepted a part truncated to %d bytes", i)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, _ := (&plan.Part{Steps: []plan.Step{{Op: plan.OpNop}}}).Encode()
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for name, b := range map[string][]byte{
		"magic":      mut(func(b []byte) { b[0] = 'X' }),
		"version":    mut(func(b []byte) { b[4] = 9 }),
		"unknown op": mut(func(b []byte) { b[20] = 0xff }),
		"skip past":  mut(func(b []byte) { b[24] = 1 }),
		"errno 0":    mut(func(b []byte) { b[28] = 1 }),
		"step flags": mut(func(b []byte) { b[23] = 2 }),
		"trailing":   append(append([]byte(nil), good...), 0),
	} {
		if _, err := decodePart(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodePart(f *testing.F) {
	p := samplePart()
	b, _ := p.Encode()
	f.Add(b)
	empty, _ := (&plan.Part{}).Encode()
	f.Add(empty)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, cerr := decodePart(b)
		gp, gerr := plan.Decode(b)
		// The C decoder is the stricter one (ops, signatures, skips):
		// whatever it accepts, Go decodes to as many steps.
		if cerr == nil && (gerr != nil || len(gp.Steps) != n) {
			t.Fatalf("C accepted %d steps, Go: %v", n, gerr)
		}
		if cerr == nil {
			re, err := gp.Encode()
			if err != nil || string(re) != string(b) {
				t.Fatalf("re-encoding what C accepted differs: %v", err)
			}
		}
	})
}
