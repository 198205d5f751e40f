// prefault.c: map the binary's own pages in before the Go runtime starts.
//
// A teu command touches a few hundred pages of its 12 MB image while the Go
// runtime and the package inits start. Each first touch is a page fault, and
// in a VM a fault is a trap to the host: here they were a third of the CPU
// of `teu --version`. One madvise per segment maps them all at once instead:
// the read-only segments (code, rodata, pclntab) from the page cache, and
// the file part of the data segment written private at once (the inits write
// most of it). bss is left alone (32 MB of it is crypto's, never touched).
// Only the CLI does this: the container's init runs no Go and starts in the
// container's memory cgroup. It is a speed-up only: a kernel without
// MADV_POPULATE_* (before 5.14) says EINVAL and the pages fault in as before.
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <sys/mman.h>

#include "prefault.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int teu_prefault_ok;

static unsigned long page_down(unsigned long a) { return a & ~4095UL; }
static unsigned long page_up(unsigned long a) { return (a + 4095UL) & ~4095UL; }

static int prefault_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long relro_end = 0;

	(void)size;
	(void)data;
	// The first object is the executable (empty name); stop after it.
	if (info->dlpi_name && info->dlpi_name[0])
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO)
			relro_end = page_up(info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		unsigned long start = page_down(info->dlpi_addr + ph->p_vaddr);
		unsigned long end = page_up(info->dlpi_addr + ph->p_vaddr + ph->p_filesz);
		int advice = MADV_POPULATE_READ;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_flags & PF_W) {
			// RELRO is read-only by now: writing it would fail the call.
			if (relro_end > start)
				start = relro_end;
			advice = MADV_POPULATE_WRITE;
		}
		if (end <= start)
			continue;
		if (madvise((void *)start, end - start, advice) == 0)
			teu_prefault_ok++;
		// On failure the pages fault in one by one, as without this.
	}
	return 1;
}

void teu_prefault_image(void)
{
	dl_iterate_phdr(prefault_cb, NULL);
}
