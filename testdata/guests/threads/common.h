/*
 * Helpers shared by the thread guests: argdata lookups and output of
 * "name value" lines.
 */
#ifndef THREADS_COMMON_H
#define THREADS_COMMON_H

#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_threads.h>
#include <program.h>
#include <stdatomic.h>
#include <stdint.h>

static int out_fd = -1;

/* The fd under "out"; exits with status 2 if there is none. */
static void init_out(const argdata_t *ad) {
  argdata_t v;
  if (sdk_argdata_map_lookup(ad, "out", &v) != 0 ||
      argdata_get_fd(&v, &out_fd) != 0)
    cloudabi_sys_proc_exit(2);
}

/* The integer under key, or def if absent. */
static uint64_t arg_u64(const argdata_t *ad, const char *key, uint64_t def) {
  argdata_t v;
  uint64_t n;
  if (sdk_argdata_map_lookup(ad, key, &v) != 0)
    return def;
  if (argdata_get_int(&v, &n) != 0)
    cloudabi_sys_proc_exit(2);
  return n;
}

static int arg_fd(const argdata_t *ad, const char *key) {
  argdata_t v;
  int fd;
  if (sdk_argdata_map_lookup(ad, key, &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  return fd;
}

/* Writes "name value\n". */
static void put_u64(const char *name, uint64_t value) {
  char buf[96];
  size_t n = strlen(name);
  if (n > 64)
    n = 64;
  memcpy(buf, name, n);
  buf[n++] = ' ';
  n += sdk_fmt_u64(buf + n, value);
  buf[n++] = '\n';
  sdk_write_all((cloudabi_fd_t)out_fd, buf, n);
}

static void put_i64(const char *name, int64_t value) {
  char buf[96];
  size_t n = strlen(name);
  if (n > 64)
    n = 64;
  memcpy(buf, name, n);
  buf[n++] = ' ';
  n += sdk_fmt_i64(buf + n, value);
  buf[n++] = '\n';
  sdk_write_all((cloudabi_fd_t)out_fd, buf, n);
}

/* Reports a failed check and exits with status 1. */
static _Noreturn void fail(const char *what, uint64_t value) {
  put_u64(what, value);
  cloudabi_sys_proc_exit(1);
}

static void check(cloudabi_errno_t error, const char *what) {
  if (error != 0)
    fail(what, error);
}

static cloudabi_timestamp_t now_ns(cloudabi_clockid_t clock) {
  cloudabi_timestamp_t t = 0;
  cloudabi_sys_clock_time_get(clock, 1, &t);
  return t;
}

#endif
