/*
** context.c: compiles the backend that backend.h picked.
*/
#define _GNU_SOURCE  /* REG_RSP, for uco_context_sp with ucontext */
#include "backend.h"

#ifdef UCORO_BACKEND_ASM
#include "context_asm.c"
#else
#include "context_ucontext.c"
#endif
