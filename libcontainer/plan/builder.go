package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxSlots is the size of the executor's fd table.
const MaxSlots = 64

// Builder accumulates the steps of a plan and cuts them into parts. It
// hands out slots, and keeps every step so that a failure reported by index
// can be described.
type Builder struct {
	steps []Step
	phase string // stamped on the steps added from now on
	cut   int    // first step not yet in a part
	used  [MaxSlots]bool
	err   error
}

// Grow makes room for n more steps at once: a container's plan has a few
// hundred, which append would otherwise copy at each doubling.
func (b *Builder) Grow(n int) { b.steps = slices.Grow(b.steps, n) }

// Add appends a step and returns it, for the caller to set its control
// flow (SkipOK, AltErrnos, SkipAlt).
func (b *Builder) Add(desc string, op Op, args ...Arg) *Step {
	b.steps = append(b.steps, Step{Op: op, Args: args, Desc: desc, Phase: b.phase})
	return &b.steps[len(b.steps)-1]
}

// Addf is Add with a formatted description.
func (b *Builder) Addf(op Op, args []Arg, format string, a ...any) *Step {
	return b.Add(fmt.Sprintf(format, a...), op, args...)
}

// Phase names what the steps added from now on are part of, for --trace
// ("mounts", "credentials").
func (b *Builder) Phase(name string) { b.phase = name }

// Len is the number of steps so far; the next step's index.
func (b *Builder) Len() int { return len(b.steps) }

// Slot reserves a free slot; Free gives it back.
func (b *Builder) Slot() int {
	for i, u := range b.used {
		if !u {
			b.used[i] = true
			return i
		}
	}
	if b.err == nil {
		b.err = fmt.Errorf("plan needs more than %d fd slots", MaxSlots)
	}
	return MaxSlots - 1
}

// Free releases slot s (its fd is closed by a Close step, not here).
func (b *Builder) Free(s int) {
	if s >= 0 && s < MaxSlots {
		b.used[s] = false
	}
}

// Close adds a step closing slot s and frees it.
func (b *Builder) Close(s int) {
	b.Add("close", OpClose, Int(int64(s)))
	b.Free(s)
}

// Err is the first error a step could not be added with.
func (b *Builder) Err() error { return b.err }

// Cut returns the steps added since the last cut as the next part.
func (b *Builder) Cut() Part {
	p := Part{First: b.cut, Steps: b.steps[b.cut:len(b.steps):len(b.steps)]}
	b.cut = len(b.steps)
	return p
}

// Step returns step i of the whole plan, or nil.
func (b *Builder) Step(i int) *Step {
	if i < 0 || i >= len(b.steps) {
		return nil
	}
	return &b.steps[i]
}

// Steps is every step so far.
func (b *Builder) Steps() []Step { return b.steps }

// Describe formats a failure the executor reported for step i.
func (b *Builder) Describe(i, code int, detail string) string {
	desc := fmt.Sprintf("step %d", i)
	text := ErrorText(code)
	if s := b.Step(i); s != nil {
		if s.Desc != "" {
			desc = s.Desc
		} else {
			desc = s.Op.String()
		}
		if t, ok := s.Codes[code]; ok {
			text = t
		}
	} else if i == len(b.steps) {
		desc = "plan"
	}
	return failure(desc, text, code, detail)
}

// failure words a failed step: what it did, what went wrong, and what the
// executor said (a hook's output, a path).
func failure(desc, text string, code int, detail string) string {
	detail = strings.TrimSpace(detail)
	if code == ErrHookKilled {
		// "signal N[: output]" from the executor, worded as Go's
		// os/exec words it (runc's hook errors are those).
		num, rest, _ := strings.Cut(strings.TrimPrefix(detail, "signal "), ": ")
		if n, err := strconv.Atoi(num); err == nil {
			text, detail = "signal: "+unix.Signal(n).String(), rest
		}
	}
	msg := desc + ": " + text
	if detail != "" {
		msg += ": " + strings.ReplaceAll(detail, "\n", " ")
	}
	return msg
}

// Listing formats every step, one per line with its index, for `teu plan`
// and golden tests.
func (b *Builder) Listing() string {
	var sb strings.Builder
	for i := range b.steps {
		fmt.Fprintf(&sb, "%3d %s\n", i, b.steps[i].String())
	}
	return sb.String()
}
