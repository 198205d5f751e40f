package plan

import (
	"encoding/binary"
	"errors"
)

// Messages on the sync socket (SOCK_SEQPACKET) between the executor and
// its parent: a 16-byte header (u32 type, i32 a, i32 b, u32 payload
// length) and the payload. nsenter/plan.h has the same numbers.
const (
	MsgSync    = 1 // executor: a = tag; wait for MsgOK
	MsgFd      = 2 // executor: a = tag, one fd as SCM_RIGHTS; wait for MsgOK
	MsgPid     = 3 // executor (the forking parent): a = pid of the child
	MsgError   = 4 // executor: a = step, b = code (errno or Err*); payload: detail
	MsgTimings = 5 // executor: a = first step, payload: u32 µs per step (a = -1 if none)
	MsgOK      = 16
)

// Tags of MsgSync and MsgFd: what the executor reached, and what the
// parent does then.
const (
	TagUserns    = 1 // a new user namespace: write its id maps
	TagCgroupIn  = 2 // place the process in the container's cgroup (for a new cgroup namespace)
	TagCgroupOut = 3 // and take it out again
	TagHooks     = 4 // mounts done: move the init into its cgroup, run prestart and createRuntime hooks
	TagRoot      = 5 // fd of the container's root: send the part with the process's steps
	TagSeccomp   = 6 // fd of the seccomp notify listener, for the agent
	TagJoin      = 7 // exec: move the process into the container's cgroup
	TagReady     = 8 // the init waits on exec.fifo next; the sync socket closes
	TagInit      = 9 // no fork: the executor is the init (the spawn made its pid namespace); the parent answers, then sends the set-up part
	// TagTree+i: the detached tree of mount i's source inside the
	// container (fd), for the parent to idmap.
	TagTree = 100
)

// HeaderSize is the size of a message header.
const HeaderSize = 16

// Msg is one message.
type Msg struct {
	Type    uint32
	A, B    int32
	Payload []byte
}

// Encode serializes m.
func (m *Msg) Encode() []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(m.Payload))
	binary.LittleEndian.PutUint32(b, m.Type)
	binary.LittleEndian.PutUint32(b[4:], uint32(m.A))
	binary.LittleEndian.PutUint32(b[8:], uint32(m.B))
	binary.LittleEndian.PutUint32(b[12:], uint32(len(m.Payload)))
	return append(b, m.Payload...)
}

// DecodeMsg parses one message.
func DecodeMsg(b []byte) (Msg, error) {
	if len(b) < HeaderSize {
		return Msg{}, errors.New("short message")
	}
	m := Msg{Type: binary.LittleEndian.Uint32(b), A: int32(binary.LittleEndian.Uint32(b[4:])),
		B: int32(binary.LittleEndian.Uint32(b[8:]))}
	if int(binary.LittleEndian.Uint32(b[12:])) != len(b)-HeaderSize {
		return Msg{}, errors.New("message length mismatch")
	}
	m.Payload = b[HeaderSize:]
	return m, nil
}

// Skipped is the time of a step the executor did not run.
const Skipped = ^uint32(0)

// Timings decodes a MsgTimings payload: µs per step, Skipped for a step
// not run.
func Timings(payload []byte) []uint32 {
	out := make([]uint32, len(payload)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(payload[4*i:])
	}
	return out
}

// LateError is what the executor writes into exec.fifo when a step after
// the sync socket closed fails: u32 step, i32 code, u32 len + the step's
// description, u32 len + detail.
type LateError struct {
	Step   int
	Code   int
	Desc   string
	Detail string
}

// DecodeLateError parses what start read from exec.fifo.
func DecodeLateError(b []byte) (LateError, bool) {
	var e LateError
	if len(b) < 12 {
		return e, false
	}
	e.Step = int(binary.LittleEndian.Uint32(b))
	e.Code = int(int32(binary.LittleEndian.Uint32(b[4:])))
	n := int(binary.LittleEndian.Uint32(b[8:]))
	if n < 0 || len(b)-12 < n {
		return e, false
	}
	e.Desc = string(b[12 : 12+n])
	rest := b[12+n:]
	if len(rest) >= 4 {
		d := int(binary.LittleEndian.Uint32(rest))
		if d >= 0 && len(rest)-4 >= d {
			e.Detail = string(rest[4 : 4+d])
		}
	}
	return e, true
}

// Error formats it as teu reports a failed step.
func (e LateError) Error() string {
	return failure(e.Desc, ErrorText(e.Code), e.Code, e.Detail)
}
