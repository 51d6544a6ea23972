/*
 * nullsyscall: a system call round-trip benchmark. Performs `n` fd_write
 * calls of one byte each ("x") to `out`.
 *
 * Argdata: a map {out: !fd N, n: COUNT}.
 * Exit status: 0, 2 on bad argdata, 1 if a write fails.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

void program_main(const argdata_t *ad) {
  argdata_t value;
  int out;
  uint64_t n;
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 ||
      argdata_get_fd(&value, &out) != 0 ||
      sdk_argdata_map_lookup(ad, "n", &value) != 0 ||
      argdata_get_int(&value, &n) != 0)
    cloudabi_sys_proc_exit(2);
  static const char byte = 'x';
  cloudabi_ciovec_t iov = {.buf = &byte, .buf_len = 1};
  for (uint64_t i = 0; i < n; ++i) {
    size_t written;
    if (cloudabi_sys_fd_write((cloudabi_fd_t)out, &iov, 1, &written) != 0 ||
        written != 1)
      cloudabi_sys_proc_exit(1);
  }
  cloudabi_sys_proc_exit(0);
}
