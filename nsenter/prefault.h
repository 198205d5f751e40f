#ifndef TEU_PREFAULT_H
#define TEU_PREFAULT_H

// How many of the binary's load segments teu_prefault_image mapped in.
extern int teu_prefault_ok;

void teu_prefault_image(void);

#endif
