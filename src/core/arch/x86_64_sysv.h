/*
** x86_64_sysv.h: the hand-written x86-64 System V switch
** (x86_64_sysv_elf.S).
*/
#ifndef UCORO_X86_64_SYSV_H
#define UCORO_X86_64_SYSV_H

/* All callee-saved state lives on the stack; the context is its top. */
typedef struct uco_context {
  void *sp;
} uco_context;

int uco_switch_x86_64(void **save_sp, void *load_sp);

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  return uco_switch_x86_64(&from->sp, to->sp);
}

#endif
