/*
 * Helpers of the socket guests: each check prints "ok <check>" or
 * "FAIL <check> (got X, want Y)" to the output descriptor, and the program
 * exits with the number of failed checks.
 */
#ifndef SOCKETS_CHECK_H
#define SOCKETS_CHECK_H

#include <argdata.h>
#include <cloudabi_net.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "../check.h"



static void expect(const char *name, cloudabi_errno_t got, cloudabi_errno_t want) { expect_u64(name, got, want); }
static void expect_true(const char *name, int cond) { expect_u64(name, cond ? 1 : 0, 1); }

static cloudabi_fdstat_t stat_of(cloudabi_fd_t fd) {
  cloudabi_fdstat_t st;
  memset(&st, 0, sizeof(st));
  cloudabi_sys_fd_stat_get(fd, &st);
  return st;
}

static cloudabi_fd_t fd_arg(const argdata_t *ad, const char *key) {
  argdata_t value;
  int fd;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &fd) != 0)
    return (cloudabi_fd_t)-1;
  return (cloudabi_fd_t)fd;
}

static cloudabi_errno_t send_bytes(cloudabi_fd_t sock, const char *s, size_t len, const cloudabi_fd_t *fds,
                                   size_t nfds) {
  size_t sent = 0;
  cloudabi_errno_t e = sdk_send_fds(sock, s, len, fds, nfds, &sent);
  if (e == 0 && sent != len)
    return CLOUDABI_EIO;
  return e;
}

static cloudabi_errno_t write_bytes(cloudabi_fd_t fd, const char *s, size_t len) {
  size_t n;
  cloudabi_ciovec_t iov = {.buf = s, .buf_len = len};
  return cloudabi_sys_fd_write(fd, &iov, 1, &n);
}

#endif
