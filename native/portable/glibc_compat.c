/*
 * The portable JNI library (scripts/build-portable.sh) links libstdc++ and libgcc statically; built
 * on glibc 2.36, they call two functions newer glibcs have: arc4random (2.36, std::random_device)
 * and _dl_find_object (2.35, the C++ unwinder). Defined here, inside the library, on older
 * interfaces (getrandom 2.25, dl_iterate_phdr), so the library loads on glibc 2.34 (Ubuntu 22.04,
 * the OAP images' base; RHEL 9). Nothing outside the library sees them (the symbols are hidden).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>

uint32_t arc4random(void)
{
	uint32_t v;
	while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		;
	return v;
}

struct find {
	uintptr_t pc;
	struct dl_find_object *out;
	int found;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct find *f = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	const ElfW(Phdr) *eh = NULL;
	int inside = 0;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
			lo = s < lo ? s : lo;
			hi = e > hi ? e : hi;
			inside |= f->pc >= s && f->pc < e;
		} else if (ph->p_type == PT_GNU_EH_FRAME) {
			eh = ph;
		}
	}
	if (!inside)
		return 0;
	*f->out = (struct dl_find_object){0};
	f->out->dlfo_map_start = (void *)lo;
	f->out->dlfo_map_end = (void *)hi;
	f->out->dlfo_eh_frame = eh ? (void *)(info->dlpi_addr + eh->p_vaddr) : NULL;
	f->found = 1;
	return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result)
{
	struct find f = {.pc = (uintptr_t)pc, .out = result};
	dl_iterate_phdr(find_object, &f);
	return f.found ? 0 : -1;
}
