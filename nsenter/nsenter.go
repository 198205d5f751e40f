// Package nsenter links the plan executor: a C constructor (nsexec.c) that
// runs before the Go runtime starts and, in `teu init`, executes the plan
// the parent sends (executor.c, exec_fs.c, exec_proc.c; plan.c decodes).
// Import it only from main: the constructor runs in every process of the
// binary and returns at once unless _TEU_INIT_SOCK is set.
package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -Werror -O2
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "inherited.h"
#include "prefault.h"

static int decode_for_go(const char *buf, size_t len, unsigned *n) {
	struct teu_part part;
	int rc = teu_decode_part(buf, len, &part);
	*n = part.n;
	free(part.steps);
	return rc;
}

// malloc_arenas counts glibc's malloc arenas (malloc_info's <heap>s), -1
// when it cannot tell.
static int malloc_arenas(void) {
	char *buf = NULL;
	size_t len = 0;
	int n = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	if (malloc_info(0, f) != 0) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	for (char *p = buf; (p = strstr(p, "<heap nr=")); p++)
		n++;
	free(buf);
	return n;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// The init's environment: the fds of the sync socket and the plan pipe.
const (
	EnvInitSock = "_TEU_INIT_SOCK"
	EnvInitPlan = "_TEU_INIT_PLAN"
)

// decodePart runs the C decoder on an encoded plan part, for tests and
// fuzzing; it returns the number of steps.
func decodePart(b []byte) (int, error) {
	var n C.unsigned
	p := C.CBytes(b)
	defer C.free(p)
	if C.decode_for_go((*C.char)(p), C.size_t(len(b)), &n) != 0 {
		return 0, errors.New("invalid plan part")
	}
	return int(n), nil
}

// opSig is the C decoder's signature of op, or ok=false.
func opSig(op uint16) (string, bool) {
	s := C.teu_op_sig(C.unsigned(op))
	if s == nil {
		return "", false
	}
	return C.GoString(s), true
}

// InheritedFds is the fds above stdio our caller passed us, as the C
// constructor found them before the Go runtime opened files of its own
// (and marked close-on-exec); ok is false when /proc/self/fd could not be
// read.
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

// mallocArenas is how many malloc arenas glibc has made, for tests.
func mallocArenas() int { return int(C.malloc_arenas()) }

// prefaultOK is how many segments of the binary the constructor mapped in
// (prefault.c), for tests.
func prefaultOK() int { return int(C.teu_prefault_ok) }
