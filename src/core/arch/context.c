/*
** context.c: compiles the backend that backend.h picked.
*/
#define _GNU_SOURCE  /* REG_RSP, for uco_context_sp with ucontext */
#include "backend.h"

#if defined(UCORO_BACKEND_X86_64_SYSV_ELF)
#include "x86_64_sysv.c"
#else
#include "posix_ucontext.c"
#endif
