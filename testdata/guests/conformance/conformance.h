/*
 * Helpers shared by the conformance guests: each check prints
 * "ok <check>" or "FAIL <check> (got X, want Y)" to the output descriptor,
 * and the program exits with the number of failed checks.
 *
 * Every program takes the argdata map {dir: !fd, out: !fd}: `dir` is an
 * empty directory with every directory right, `out` where to report.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "../check.h"

/* A path argument: pointer and length of a string literal. */
#define P(s) (s), (sizeof(s) - 1)



/* expect compares a system call's errno. */
static void expect(const char *name, cloudabi_errno_t got, cloudabi_errno_t want) {
  expect_u64(name, got, want);
}

/* expect_true checks a condition (reported as got 0, want 1). */
static void expect_true(const char *name, int cond) { expect_u64(name, cond ? 1 : 0, 1); }

static cloudabi_lookup_t nofollow(cloudabi_fd_t fd) {
  cloudabi_lookup_t l = {.fd = fd, .flags = 0};
  return l;
}

static cloudabi_lookup_t follow(cloudabi_fd_t fd) {
  cloudabi_lookup_t l = {.fd = fd, .flags = CLOUDABI_LOOKUP_SYMLINK_FOLLOW};
  return l;
}

/* rights_of returns a descriptor's base rights (0 if it fails). */
static cloudabi_rights_t rights_of(cloudabi_fd_t fd) {
  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_stat_get(fd, &st) != 0)
    return 0;
  return st.fs_rights_base;
}

static cloudabi_rights_t inheriting_of(cloudabi_fd_t fd) {
  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_stat_get(fd, &st) != 0)
    return 0;
  return st.fs_rights_inheriting;
}

/* open_file opens path beneath dir with the given flags and rights. */
static cloudabi_errno_t open_file(cloudabi_lookup_t dir, const char *path, size_t len, cloudabi_oflags_t oflags,
                                  cloudabi_rights_t base, cloudabi_rights_t inheriting, cloudabi_fdflags_t flags,
                                  cloudabi_fd_t *fd) {
  cloudabi_fdstat_t st = {
      .fs_filetype = 0, .fs_flags = flags, .fs_rights_base = base, .fs_rights_inheriting = inheriting};
  return cloudabi_sys_file_open(dir, path, len, oflags, &st, fd);
}

/* Rights of a regular file, as the runtime grants them. */
#define FILE_RIGHTS                                                                                              \
  (CLOUDABI_RIGHT_FD_DATASYNC | CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_SEEK |                                \
   CLOUDABI_RIGHT_FD_STAT_PUT_FLAGS | CLOUDABI_RIGHT_FD_SYNC | CLOUDABI_RIGHT_FD_TELL | CLOUDABI_RIGHT_FD_WRITE | \
   CLOUDABI_RIGHT_FILE_ADVISE | CLOUDABI_RIGHT_FILE_ALLOCATE | CLOUDABI_RIGHT_FILE_STAT_FGET |                   \
   CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE | CLOUDABI_RIGHT_FILE_STAT_FPUT_TIMES | CLOUDABI_RIGHT_MEM_MAP |           \
   CLOUDABI_RIGHT_MEM_MAP_EXEC | CLOUDABI_RIGHT_POLL_FD_READWRITE | CLOUDABI_RIGHT_PROC_EXEC)

/* create_file creates (or truncates) path beneath dir with contents. */
static cloudabi_errno_t create_file(cloudabi_fd_t dir, const char *path, size_t len, const char *contents) {
  cloudabi_fd_t fd;
  cloudabi_errno_t e = open_file(nofollow(dir), path, len, CLOUDABI_O_CREAT | CLOUDABI_O_TRUNC,
                                 CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_FD_READ, 0, 0, &fd);
  if (e != 0)
    return e;
  size_t n;
  cloudabi_ciovec_t iov = {.buf = contents, .buf_len = strlen(contents)};
  e = cloudabi_sys_fd_write(fd, &iov, 1, &n);
  cloudabi_sys_fd_close(fd);
  return e;
}

/* read_all reads up to len bytes from fd at its offset. */
static size_t read_some(cloudabi_fd_t fd, char *buf, size_t len) {
  size_t n = 0;
  cloudabi_iovec_t iov = {.buf = buf, .buf_len = len};
  if (cloudabi_sys_fd_read(fd, &iov, 1, &n) != 0)
    return (size_t)-1;
  return n;
}

/* start parses the argdata {dir, out}. */
static cloudabi_fd_t start(const argdata_t *ad) {
  argdata_t value;
  int fd, dir;
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &fd) != 0 ||
      sdk_argdata_map_lookup(ad, "dir", &value) != 0 || argdata_get_fd(&value, &dir) != 0)
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)fd;
  return (cloudabi_fd_t)dir;
}

/* optional_fd returns the fd under key, or -1. */
static cloudabi_fd_t optional_fd(const argdata_t *ad, const char *key) {
  argdata_t value;
  int fd;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &fd) != 0)
    return (cloudabi_fd_t)-1;
  return (cloudabi_fd_t)fd;
}

#endif
