/*
 * execexit: one thread calls proc_exec while the main thread calls
 * proc_exit at about the same time. Whichever wins, nothing may run after
 * the process has been reported ended: the new image ({mode: "after"})
 * sleeps 100 ms, then writes "after\n" to fd 0 and exits 5.
 *
 * Argdata: {mode: "start", self: !fd (this program), delay: N (a busy
 * loop before the exec, to vary the race)}; the program exits 3, or the
 * new image exits 5.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>
#include <program.h>
#include <stdatomic.h>

#include "../process.h"

/* {mode: "after"} */
static const unsigned char after_argdata[] = {
    0x06, 0x86, 0x08, 'm', 'o', 'd', 'e', 0x00, 0x87, 0x08, 'a', 'f', 't', 'e', 'r', 0x00};
static _Atomic int go;
static int self_fd;
static uint64_t delay;

static void execer(void *arg) {
  (void)arg;
  while (!atomic_load(&go)) {
  }
  for (volatile uint64_t i = 0; i < delay; i++) {
  }
  cloudabi_fd_t keep[1] = {0};
  cloudabi_sys_proc_exec((cloudabi_fd_t)self_fd, after_argdata, sizeof(after_argdata), keep, 1);
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  const char *mode;
  size_t mode_len;
  if (sdk_argdata_map_lookup(ad, "mode", &value) != 0 || argdata_get_str(&value, &mode, &mode_len) != 0)
    cloudabi_sys_proc_exit(125);
  if (mode_len == 5 && memcmp(mode, "after", 5) == 0) {
    sleep_ms(100);
    sdk_puts(0, "after\n");
    cloudabi_sys_proc_exit(5);
  }
  if (sdk_argdata_map_lookup(ad, "self", &value) != 0 || argdata_get_fd(&value, &self_fd) != 0)
    cloudabi_sys_proc_exit(125);
  if (sdk_argdata_map_lookup(ad, "delay", &value) == 0)
    argdata_get_int(&value, &delay);
  sdk_thread_t t;
  if (sdk_thread_create(&t, execer, NULL) != 0)
    cloudabi_sys_proc_exit(124);
  sleep_ms(5);
  atomic_store(&go, 1);
  cloudabi_sys_proc_exit(3);
}
