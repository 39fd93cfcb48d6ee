/*
** context.c: compiles the backend that backend.h picked.
*/
#include "backend.h"

#ifdef UCORO_BACKEND_ASM
#include "context_asm.c"
#else
#include "context_ucontext.c"
#endif
