package libcontainer

import "time"

// tracePhase is one phase of the init's setup. The init sends them with
// "ready" when the parent traces (CreateOpts.Trace).
type tracePhase struct {
	Name string `json:"name"`
	Ns   int64  `json:"ns"`
}

// phaseTimer measures consecutive phases; when off, mark is one branch.
type phaseTimer struct {
	on     bool
	last   time.Time
	phases []tracePhase
}

func newPhaseTimer(on bool, start time.Time) *phaseTimer {
	return &phaseTimer{on: on, last: start}
}

// mark ends the current phase, naming it, and starts the next.
func (t *phaseTimer) mark(name string) {
	if !t.on {
		return
	}
	now := time.Now()
	t.phases = append(t.phases, tracePhase{Name: name, Ns: now.Sub(t.last).Nanoseconds()})
	t.last = now
}
