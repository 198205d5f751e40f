// Package nsenter links nsexec.c, a C constructor that joins and creates the
// container's namespaces before the Go runtime starts (see nsexec.c), and
// encodes the bootstrap message it reads. Import it only from main: the
// constructor runs in every process of the binary and returns at once unless
// _TEU_INIT_SOCK is set.
package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <stdlib.h>
#include <sys/resource.h>
#include "bootstrap.h"
#include "inherited.h"

extern struct rlimit teu_init_nofile;

static int parse_for_go(const char *msg, size_t len, unsigned int *flags, int *nns, int *has_oom, int *oom) {
	static struct teu_bootstrap bs;
	int rc = teu_parse_bootstrap(msg, len, &bs);
	*flags = bs.clone_flags;
	*nns = bs.nns;
	*has_oom = bs.has_oom_score_adj;
	*oom = bs.oom_score_adj;
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// EnvInitSock names the fd of the sync socket in the init's environment.
const EnvInitSock = "_TEU_INIT_SOCK"

const (
	attrCloneFlags  = 1
	attrNsPath      = 2
	attrTimens      = 3
	attrCgroupSync  = 4
	attrOOMScoreAdj = 5
	maxMsg          = 65536
	pathMax         = 4096
	timensMax       = 256
)

// NsPath is a namespace to join: a CLONE_NEW* flag and a path.
type NsPath struct {
	Type uint32
	Path string
}

// Bootstrap is what nsexec.c needs to know.
type Bootstrap struct {
	CloneFlags    uint32   // namespaces to create
	Join          []NsPath // namespaces to join, user first regardless of order
	TimensOffsets string   // "monotonic S NS\nboottime S NS\n"
	// CgroupSync: ask the parent to place the process in the container's
	// cgroup before it forks the init ("C"), and to take it out ("O").
	CgroupSync bool
	// OOMScoreAdj, if set, is written first thing, while the process may
	// (it is made non-dumpable next).
	OOMScoreAdj *int
}

// Encode serializes b in the format bootstrap.h describes, refusing what the
// C parser would refuse so that errors surface in the parent with context.
func (b *Bootstrap) Encode() ([]byte, error) {
	msg := []byte("TEU1")
	put := func(typ uint16, val []byte) error {
		if len(val) > 0xffff {
			return errors.New("bootstrap attribute too long")
		}
		msg = binary.LittleEndian.AppendUint16(msg, typ)
		msg = binary.LittleEndian.AppendUint16(msg, uint16(len(val)))
		msg = append(msg, val...)
		return nil
	}
	if err := put(attrCloneFlags, binary.LittleEndian.AppendUint32(nil, b.CloneFlags)); err != nil {
		return nil, err
	}
	var joined uint32
	for _, ns := range b.Join {
		if ns.Path == "" || len(ns.Path) >= pathMax || strings.IndexByte(ns.Path, 0) >= 0 {
			return nil, fmt.Errorf("invalid namespace path %q", ns.Path)
		}
		if joined&ns.Type != 0 || b.CloneFlags&ns.Type != 0 {
			return nil, fmt.Errorf("namespace %#x given twice", ns.Type)
		}
		joined |= ns.Type
		val := binary.LittleEndian.AppendUint32(nil, ns.Type)
		if err := put(attrNsPath, append(val, ns.Path...)); err != nil {
			return nil, err
		}
	}
	if b.TimensOffsets != "" {
		if len(b.TimensOffsets) >= timensMax || strings.IndexByte(b.TimensOffsets, 0) >= 0 {
			return nil, errors.New("invalid time namespace offsets")
		}
		if err := put(attrTimens, []byte(b.TimensOffsets)); err != nil {
			return nil, err
		}
	}
	if b.CgroupSync {
		if err := put(attrCgroupSync, nil); err != nil {
			return nil, err
		}
	}
	if b.OOMScoreAdj != nil {
		adj := *b.OOMScoreAdj
		if adj < -1000 || adj > 1000 {
			return nil, fmt.Errorf("oom_score_adj %d out of range", adj)
		}
		if err := put(attrOOMScoreAdj, binary.LittleEndian.AppendUint32(nil, uint32(int32(adj)))); err != nil {
			return nil, err
		}
	}
	if len(msg) > maxMsg {
		return nil, errors.New("bootstrap message too long")
	}
	return msg, nil
}

// parsed is what the C parser took from a message.
type parsed struct {
	flags uint32
	nns   int
	oom   *int
}

// parse runs the C parser; it exists for tests and fuzzing.
func parse(msg []byte) (parsed, error) {
	var cflags C.uint
	var cnns, chas, coom C.int
	p := C.CBytes(msg)
	defer C.free(p)
	if C.parse_for_go((*C.char)(p), C.size_t(len(msg)), &cflags, &cnns, &chas, &coom) != 0 {
		return parsed{}, errors.New("invalid bootstrap message")
	}
	r := parsed{flags: uint32(cflags), nns: int(cnns)}
	if chas != 0 {
		v := int(coom)
		r.oom = &v
	}
	return r, nil
}

// InitNofile is the init's RLIMIT_NOFILE as the constructor found it,
// before the Go runtime raised the soft limit; zero outside an init.
func InitNofile() (cur, max uint64) {
	return uint64(C.teu_init_nofile.rlim_cur), uint64(C.teu_init_nofile.rlim_max)
}

// InheritedFds is the fds above stdio our caller passed us, as the C
// constructor found them before the Go runtime opened files of its own
// (and marked close-on-exec); ok is false when /proc/self/fd could not be
// read. Empty in an init.
func InheritedFds() (fds []int, ok bool) {
	if C.teu_inherited_ok == 0 {
		return nil, false
	}
	n := int(C.teu_inherited_n)
	if n == 0 {
		return nil, true
	}
	fds = make([]int, n)
	for i, fd := range unsafe.Slice(C.teu_inherited_fds, n) {
		fds[i] = int(fd)
	}
	return fds, true
}
