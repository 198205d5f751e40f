// Package plan defines the plan: the flat, versioned list of steps the Go
// side of teu compiles from a container's config and the C executor in
// nsenter/ runs inside the container's init (and exec's process), where no
// Go runtime starts. Everything that needs judgment is decided while the
// plan is compiled; the executor only does what each step says, in order.
//
// Wire format (little-endian, no padding; nsenter/plan.c is the decoder):
//
//	header  "TEUP" | u16 version | u16 flags (0) | u32 length (whole part)
//	        | u32 index of the first step | u32 number of steps
//	step    u16 op | u8 nargs | u8 flags | u16 skipOK | u16 skipAlt
//	        | u64 altErrnos | nargs args
//	arg     u8 kind, then: int: i64 | str: u32 len, len bytes, NUL | blob: u32 len, len bytes
//
// A step's arguments must match its op's signature (Sig). A step that
// fails with an errno in altErrnos (a bit mask of errnos below 64) is not
// a failure: the executor skips the skipAlt steps after it; after a
// success it skips skipOK steps. That is all the control flow there is.
// Step flag FlagDesc: the last argument is a string describing the step,
// which the executor reports with a failure it can only write to exec.fifo
// (after the sync socket is closed). A plan may be sent in parts: OpContinue
// reads the next part, whose first index continues the numbering, so a
// failure always names one step of the whole plan. docs/plan.md has the
// table of ops.
package plan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Magic and Version open every part of a plan.
const (
	Magic   = "TEUP"
	Version = 1
)

// Limits the decoder enforces (nsenter/plan.h has the same).
const (
	MaxPart  = 16 << 20 // bytes in one part
	MaxSteps = 1 << 16  // steps in one part
	MaxArgs  = 8
	MaxSkip  = 1 << 15
)

// FlagDesc marks a step whose last argument is its description.
const FlagDesc = 1

// ArgKind is the type of one argument.
type ArgKind uint8

// The argument kinds; the letters are those of Sig.
const (
	KindInt  ArgKind = 1 // 'i'
	KindStr  ArgKind = 2 // 's': no NUL inside, NUL-terminated on the wire
	KindBlob ArgKind = 3 // 'b': any bytes
)

// Arg is one argument of a step.
type Arg struct {
	Kind  ArgKind
	Int   int64
	Bytes []byte
}

// Int, Str and Blob make arguments.
func Int(v int64) Arg        { return Arg{Kind: KindInt, Int: v} }
func Str(s string) Arg       { return Arg{Kind: KindStr, Bytes: []byte(s)} }
func Blob(b []byte) Arg      { return Arg{Kind: KindBlob, Bytes: b} }
func Strs(list []string) Arg { return Blob(JoinNul(list)) }

// JoinNul packs strings as the executor reads argv and env lists: each
// followed by a NUL.
func JoinNul(list []string) []byte {
	var b []byte
	for _, s := range list {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// Step is one step of a plan.
type Step struct {
	Op   Op
	Args []Arg
	// Desc says what the step does, as errors name it: "mount proc on
	// /proc". It goes on the wire only with Late set.
	Desc string
	// Late: the description travels with the step (a step after the
	// sync socket is closed reports its own failure through exec.fifo).
	Late bool
	// SkipOK is how many steps to skip after a success.
	SkipOK int
	// AltErrnos are errnos (below 64) that are not failures of this step;
	// after one of them the executor skips SkipAlt steps.
	AltErrnos []int
	SkipAlt   int
	// Phase groups the step with others for --trace; never sent.
	Phase string
	// Codes word a failure code better than ErrorText would for this
	// step ("source is a directory, destination is not"); never sent.
	Codes map[int]string
}

// Part is a run of steps sent as one message.
type Part struct {
	First int // index of its first step in the whole plan
	Steps []Step
}

// Encode serializes p, refusing what the decoder would refuse.
func (p *Part) Encode() ([]byte, error) {
	if len(p.Steps) > MaxSteps || p.First < 0 || p.First > 1<<31 {
		return nil, errors.New("plan part too large")
	}
	b := make([]byte, 0, p.encodedSize()) // one allocation: no regrowth
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0) // length, below
	b = binary.LittleEndian.AppendUint32(b, uint32(p.First))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Steps)))
	for i := range p.Steps {
		var err error
		if b, err = appendStep(b, &p.Steps[i], len(p.Steps)-i-1); err != nil {
			return nil, fmt.Errorf("plan step %d (%s): %w", p.First+i, p.Steps[i].Op, err)
		}
	}
	if len(b) > MaxPart {
		return nil, fmt.Errorf("plan part of %d bytes is too large", len(b))
	}
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
	return b, nil
}

// encodedSize is the length Encode's output has (or more, for a part
// Encode refuses).
func (p *Part) encodedSize() int {
	n := 20
	for i := range p.Steps {
		s := &p.Steps[i]
		n += 16
		if s.Late {
			n += 1 + 4 + len(s.Desc) + 1
		}
		for _, a := range s.Args {
			n += 1 + 8 + 4 + len(a.Bytes) + 1
		}
	}
	return min(n, MaxPart+1)
}

func appendStep(b []byte, s *Step, after int) ([]byte, error) {
	info, ok := ops[s.Op]
	if !ok {
		return nil, errors.New("unknown op")
	}
	args := s.Args
	flags := uint8(0)
	if s.Late {
		flags |= FlagDesc
		args = append(args[:len(args):len(args)], Str(s.Desc))
	}
	if len(s.Args) != len(info.sig) {
		return nil, fmt.Errorf("%d arguments, want %d (%s)", len(s.Args), len(info.sig), info.sig)
	}
	if len(args) > MaxArgs {
		return nil, errors.New("too many arguments")
	}
	if s.SkipOK < 0 || s.SkipAlt < 0 || s.SkipOK > after || s.SkipAlt > after {
		return nil, errors.New("skip past the end of the part")
	}
	var alt uint64
	for _, e := range s.AltErrnos {
		if e <= 0 || e >= 64 {
			return nil, fmt.Errorf("errno %d cannot be an alternative", e)
		}
		alt |= 1 << e
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(s.Op))
	b = append(b, uint8(len(args)), flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(s.SkipOK))
	b = binary.LittleEndian.AppendUint16(b, uint16(s.SkipAlt))
	b = binary.LittleEndian.AppendUint64(b, alt)
	for i, a := range args {
		want := KindStr
		if i < len(info.sig) {
			want = kindOf(info.sig[i])
		}
		if a.Kind != want {
			return nil, fmt.Errorf("argument %d: kind %d, want %c", i, a.Kind, info.sig[i])
		}
		b = append(b, uint8(a.Kind))
		switch a.Kind {
		case KindInt:
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Int))
		case KindStr:
			if bytes.IndexByte(a.Bytes, 0) >= 0 {
				return nil, fmt.Errorf("argument %d: NUL in string %q", i, a.Bytes)
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(len(a.Bytes)))
			b = append(append(b, a.Bytes...), 0)
		case KindBlob:
			if len(a.Bytes) > MaxPart {
				return nil, fmt.Errorf("argument %d too long", i)
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(len(a.Bytes)))
			b = append(b, a.Bytes...)
		}
	}
	return b, nil
}

func kindOf(c byte) ArgKind {
	switch c {
	case 'i':
		return KindInt
	case 's':
		return KindStr
	}
	return KindBlob
}

// Decode parses an encoded part: for `teu plan` and tests (the executor
// has its own decoder in C, fuzzed against this encoder).
func Decode(b []byte) (*Part, error) {
	if len(b) < 20 || string(b[:4]) != Magic {
		return nil, errors.New("not a plan")
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != Version {
		return nil, fmt.Errorf("plan version %d, want %d", v, Version)
	}
	if int(binary.LittleEndian.Uint32(b[8:])) != len(b) {
		return nil, errors.New("plan length mismatch")
	}
	p := &Part{First: int(binary.LittleEndian.Uint32(b[12:]))}
	n := int(binary.LittleEndian.Uint32(b[16:]))
	off := 20
	need := func(k int) error {
		if len(b)-off < k {
			return errors.New("truncated plan")
		}
		return nil
	}
	for i := 0; i < n; i++ {
		if err := need(16); err != nil {
			return nil, err
		}
		s := Step{Op: Op(binary.LittleEndian.Uint16(b[off:]))}
		nargs, flags := int(b[off+2]), b[off+3]
		s.SkipOK = int(binary.LittleEndian.Uint16(b[off+4:]))
		s.SkipAlt = int(binary.LittleEndian.Uint16(b[off+6:]))
		alt := binary.LittleEndian.Uint64(b[off+8:])
		for e := 1; e < 64; e++ {
			if alt&(1<<e) != 0 {
				s.AltErrnos = append(s.AltErrnos, e)
			}
		}
		off += 16
		for j := 0; j < nargs; j++ {
			if err := need(1); err != nil {
				return nil, err
			}
			a := Arg{Kind: ArgKind(b[off])}
			off++
			switch a.Kind {
			case KindInt:
				if err := need(8); err != nil {
					return nil, err
				}
				a.Int = int64(binary.LittleEndian.Uint64(b[off:]))
				off += 8
			case KindStr, KindBlob:
				if err := need(4); err != nil {
					return nil, err
				}
				l := int(binary.LittleEndian.Uint32(b[off:]))
				off += 4
				extra := 0
				if a.Kind == KindStr {
					extra = 1
				}
				if l < 0 || l > len(b) || need(l+extra) != nil {
					return nil, errors.New("truncated plan")
				}
				a.Bytes = append([]byte(nil), b[off:off+l]...)
				off += l + extra
			default:
				return nil, fmt.Errorf("step %d: bad argument kind %d", p.First+i, a.Kind)
			}
			s.Args = append(s.Args, a)
		}
		if flags&FlagDesc != 0 && len(s.Args) > 0 {
			s.Late = true
			s.Desc = string(s.Args[len(s.Args)-1].Bytes)
			s.Args = s.Args[:len(s.Args)-1]
		}
		p.Steps = append(p.Steps, s)
	}
	if off != len(b) {
		return nil, errors.New("trailing bytes after the last step")
	}
	return p, nil
}

// String formats a step for `teu plan` and golden tests: its index, op,
// arguments, control flow and description.
func (s *Step) String() string {
	var b strings.Builder
	b.WriteString(s.Op.String())
	for _, a := range s.Args {
		b.WriteByte(' ')
		switch a.Kind {
		case KindInt:
			b.WriteString(strconv.FormatInt(a.Int, 10))
		case KindStr:
			b.WriteString(strconv.Quote(string(a.Bytes)))
		default:
			b.WriteString(formatBlob(a.Bytes))
		}
	}
	if s.SkipOK > 0 {
		fmt.Fprintf(&b, " ok:+%d", s.SkipOK)
	}
	if len(s.AltErrnos) > 0 {
		var names []string
		for _, e := range s.AltErrnos {
			names = append(names, ErrnoName(e))
		}
		fmt.Fprintf(&b, " %s:+%d", strings.Join(names, "|"), s.SkipAlt)
	}
	if s.Desc != "" {
		fmt.Fprintf(&b, "  # %s", s.Desc)
	}
	return b.String()
}

// formatBlob shows NUL-separated lists as such, anything else as a size.
func formatBlob(b []byte) string {
	if len(b) > 0 && b[len(b)-1] == 0 {
		parts := strings.Split(string(b[:len(b)-1]), "\x00")
		printable := true
		for _, p := range parts {
			printable = printable && strconv.IsPrint(firstRune(p))
		}
		if printable {
			q := make([]string, len(parts))
			for i, p := range parts {
				q[i] = strconv.Quote(p)
			}
			return "[" + strings.Join(q, " ") + "]"
		}
	}
	return fmt.Sprintf("<%d bytes>", len(b))
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 'x'
}
