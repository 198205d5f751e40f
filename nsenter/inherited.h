#ifndef TEU_INHERITED_H
#define TEU_INHERITED_H

// The caller's fds above stdio, in directory order; teu_inherited_ok is 0
// when /proc/self/fd could not be read.
extern int *teu_inherited_fds;
extern int teu_inherited_n;
extern int teu_inherited_ok;

void teu_note_inherited_fds(void);

#endif
