/*
** aarch64_aapcs.h: the hand-written AArch64 AAPCS64 switch
** (aarch64_aapcs_elf.S).
*/
#ifndef UCORO_AARCH64_AAPCS_H
#define UCORO_AARCH64_AAPCS_H

/* All callee-saved state lives on the stack; the context is its top. */
typedef struct uco_context {
  void *sp;
} uco_context;

int uco_switch_aarch64(void **save_sp, void *load_sp);

/* It keeps 176 bytes below its caller's stack pointer (the table in
** aarch64_aapcs_elf.S).  AAPCS64 leaves no red zone. */
#define UCO_SWITCH_FRAME 176

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  return uco_switch_aarch64(&from->sp, to->sp);
}

#endif
