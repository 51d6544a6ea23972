/*
 * nullsyscall: a system call round-trip benchmark. Performs `n` fd_write
 * calls of one byte each ("x") to `out`, or with `call: clock`, `n`
 * clock_time_get calls of the monotonic clock.
 *
 * Argdata: a map {out: !fd N, n: COUNT, call: "clock" (optional)}.
 * Exit status: 0, 2 on bad argdata, 1 if a call fails.
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
  const char *call;
  size_t call_len;
  if (sdk_argdata_map_lookup(ad, "call", &value) == 0 &&
      argdata_get_str(&value, &call, &call_len) == 0 && call_len == 5 &&
      memcmp(call, "clock", 5) == 0) {
    cloudabi_timestamp_t last = 0;
    for (uint64_t i = 0; i < n; ++i) {
      cloudabi_timestamp_t now;
      if (cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 1, &now) != 0 || now < last)
        cloudabi_sys_proc_exit(1);
      last = now;
    }
    cloudabi_sys_proc_exit(0);
  }
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
