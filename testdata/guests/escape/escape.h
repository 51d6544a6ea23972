/*
 * Helpers shared by the escape guests: output lines, file_open with
 * explicit rights, and the rights sets they ask for.
 */
#ifndef ESCAPE_H
#define ESCAPE_H

#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>

/* Rights a directory descriptor may carry (those of FreeBSD's CloudABI). */
#define DIR_RIGHTS                                                          \
  (CLOUDABI_RIGHT_FD_STAT_PUT_FLAGS | CLOUDABI_RIGHT_FD_SYNC |              \
   CLOUDABI_RIGHT_FILE_ADVISE | CLOUDABI_RIGHT_FILE_CREATE_DIRECTORY |      \
   CLOUDABI_RIGHT_FILE_CREATE_FILE | CLOUDABI_RIGHT_FILE_LINK_SOURCE |      \
   CLOUDABI_RIGHT_FILE_LINK_TARGET | CLOUDABI_RIGHT_FILE_OPEN |             \
   CLOUDABI_RIGHT_FILE_READDIR | CLOUDABI_RIGHT_FILE_READLINK |             \
   CLOUDABI_RIGHT_FILE_RENAME_SOURCE | CLOUDABI_RIGHT_FILE_RENAME_TARGET |  \
   CLOUDABI_RIGHT_FILE_STAT_FGET | CLOUDABI_RIGHT_FILE_STAT_FPUT_TIMES |    \
   CLOUDABI_RIGHT_FILE_STAT_GET | CLOUDABI_RIGHT_FILE_STAT_PUT_TIMES |      \
   CLOUDABI_RIGHT_FILE_SYMLINK | CLOUDABI_RIGHT_FILE_UNLINK |               \
   CLOUDABI_RIGHT_POLL_FD_READWRITE)
/* Rights to look at a directory and read beneath it. */
#define DIR_READ_RIGHTS                                                     \
  (CLOUDABI_RIGHT_FILE_OPEN | CLOUDABI_RIGHT_FILE_READDIR |                 \
   CLOUDABI_RIGHT_FILE_READLINK | CLOUDABI_RIGHT_FILE_STAT_GET |            \
   CLOUDABI_RIGHT_FILE_STAT_FGET)
#define FILE_READ_RIGHTS (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FILE_STAT_FGET)
#define FILE_WRITE_RIGHTS (CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_FILE_STAT_FGET)

static cloudabi_fd_t out;

static inline void put(const char *s) { sdk_puts(out, s); }

static inline void put_u64(uint64_t v) {
  char num[24];
  num[sdk_fmt_u64(num, v)] = '\0';
  put(num);
}

/* Writes "step errno[ detail]\n"; bytes of detail outside printable ASCII
 * are written as '.'. */
static inline void report(const char *step, cloudabi_errno_t error, const char *detail, size_t len) {
  put(step);
  put(" ");
  put_u64(error);
  if (detail != NULL) {
    char clean[256];
    if (len > sizeof(clean))
      len = sizeof(clean);
    for (size_t i = 0; i < len; ++i)
      clean[i] = detail[i] >= 0x20 && detail[i] < 0x7f ? detail[i] : '.';
    put(" ");
    sdk_write_all(out, clean, len);
  }
  put("\n");
}

static inline cloudabi_errno_t open_at(cloudabi_fd_t dir, const char *path, size_t len,
                                       int follow, cloudabi_oflags_t oflags,
                                       cloudabi_rights_t base, cloudabi_rights_t inheriting,
                                       cloudabi_fd_t *fd) {
  cloudabi_lookup_t lookup = {.fd = dir, .flags = follow ? CLOUDABI_LOOKUP_SYMLINK_FOLLOW : 0};
  cloudabi_fdstat_t fds = {.fs_rights_base = base, .fs_rights_inheriting = inheriting};
  return cloudabi_sys_file_open(lookup, path, len, oflags, &fds, fd);
}

/* Reads up to len bytes from the start of fd into buf. */
static inline cloudabi_errno_t read_some(cloudabi_fd_t fd, char *buf, size_t len,
                                         size_t *got) {
  *got = 0;
  while (*got < len) {
    cloudabi_iovec_t iov = {.buf = buf + *got, .buf_len = len - *got};
    size_t n;
    cloudabi_errno_t error = cloudabi_sys_fd_read(fd, &iov, 1, &n);
    if (error != 0)
      return error;
    if (n == 0)
      break;
    *got += n;
  }
  return 0;
}

static inline int get_fd(const argdata_t *ad, const char *key, cloudabi_fd_t *fd) {
  argdata_t value;
  int v;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &v) != 0)
    return -1;
  *fd = (cloudabi_fd_t)v;
  return 0;
}

#endif
