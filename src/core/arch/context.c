/*
** context.c: compiles the backend that backend.h picked.
**
** Not fortified: with _FORTIFY_SOURCE glibc turns _longjmp into
** __longjmp_chk, which aborts on a jump to a lower stack, as the sjlj
** backend's switches may be.
*/
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include "backend.h"

#if defined(UCORO_BACKEND_X86_64_SYSV_ELF)
#include "x86_64_sysv.c"
#elif defined(UCORO_BACKEND_AARCH64_AAPCS_ELF)
#include "aarch64_aapcs.c"
#elif defined(UCORO_BACKEND_SJLJ)
#include "posix_sjlj.c"
#else
#include "posix_ucontext.c"
#endif

/* An address at or below its caller's stack pointer (its own frame lies
** below the caller's): the stack-pointer hint of the POSIX backends,
** whose saved registers are out of reach (sjlj: mangled by glibc). */
__attribute__((noinline)) char *uco_below_caller(void) {
  return (char *)__builtin_frame_address(0);
}
