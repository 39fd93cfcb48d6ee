/*
** insn-count.c: a qemu TCG plugin that counts the guest instructions and
** system calls a program executes, and prints them at exit on qemu's log
** (stderr):
**   qemu-insns: N instructions, M system calls
** Used by tools/qemu-per-op the way bench/callgrind-per-op uses callgrind,
** for targets valgrind cannot run.  Built against qemu's own header
** (tools/qemu-plugin-header fetches it):
**   qemu-aarch64 -plugin build/insn-count.so PROGRAM ...
** Every executed instruction adds 1 inline (exact, also when a block is
** left early); one counter, so for single-threaded guests.
*/
#include <inttypes.h>
#include <stdio.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t insns, syscalls;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t i, n = qemu_plugin_tb_n_insns(tb);
  (void)id;
  for (i = 0; i < n; i++)
    qemu_plugin_register_vcpu_insn_exec_inline(
        qemu_plugin_tb_get_insn(tb, i), QEMU_PLUGIN_INLINE_ADD_U64, &insns, 1);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num,
                       uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                       uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu, (void)num, (void)a1, (void)a2, (void)a3, (void)a4;
  (void)a5, (void)a6, (void)a7, (void)a8;
  syscalls++;
}

static void on_exit_(qemu_plugin_id_t id, void *unused) {
  char line[96];
  (void)id, (void)unused;
  snprintf(line, sizeof line, "qemu-insns: %" PRIu64
           " instructions, %" PRIu64 " system calls\n", insns, syscalls);
  qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info, int argc,
                                           char **argv) {
  (void)info, (void)argc, (void)argv;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
  qemu_plugin_register_atexit_cb(id, on_exit_, NULL);
  return 0;
}
