/*
** context_asm.h: the hand-written x86-64 System V switch (switch_x86_64.S).
*/
#ifndef UCORO_CONTEXT_ASM_H
#define UCORO_CONTEXT_ASM_H

/* All callee-saved state lives on the stack; the context is its top. */
typedef struct uco_context {
  void *sp;
} uco_context;

int uco_switch_x86_64(void **save_sp, void *load_sp);

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  return uco_switch_x86_64(&from->sp, to->sp);
}

#endif
