/*
 * copy: copies a directory tree from one directory capability into another.
 *
 * Argdata: a map {from: fd, to: fd[, log: fd]} (see copy.yaml). Everything
 * beneath `from` is copied into `to`: directories are created (an existing
 * one is reused), regular files are created or truncated and get the same
 * contents, symbolic links are created with the same contents (they are
 * copied, not followed). Other kinds of files are skipped. If `log` is
 * given, one line per copied entry ("d path", "f path", "l path") and any
 * error are written to it.
 *
 * Exit status: 0 when everything was copied; 1 when something could not be
 * copied (the rest still is); 2 bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

/* Nesting deeper than this is reported as an error, not followed (each
 * level keeps a 4 KiB readdir buffer on the 256 KiB unsafe stack). */
#define MAX_DEPTH 32

/* Rights to read a tree (subdirectories get the same). */
#define READ_DIR_RIGHTS                                                  \
  (CLOUDABI_RIGHT_FILE_OPEN | CLOUDABI_RIGHT_FILE_READDIR |              \
   CLOUDABI_RIGHT_FILE_READLINK | CLOUDABI_RIGHT_FILE_STAT_GET |         \
   CLOUDABI_RIGHT_FILE_STAT_FGET)
#define READ_FILE_RIGHTS (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FILE_STAT_FGET)
/* Rights to fill a tree. FILE_STAT_FPUT_SIZE is what O_TRUNC needs. */
#define WRITE_DIR_RIGHTS                                                 \
  (CLOUDABI_RIGHT_FILE_OPEN | CLOUDABI_RIGHT_FILE_CREATE_DIRECTORY |     \
   CLOUDABI_RIGHT_FILE_CREATE_FILE | CLOUDABI_RIGHT_FILE_SYMLINK)
#define WRITE_FILE_RIGHTS (CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE)

static cloudabi_fd_t log_fd = (cloudabi_fd_t)-1;
static int status;
static char data[65536];
static char path[4096]; /* the path being copied, for the log */

static void put(const char *s) {
  if (log_fd != (cloudabi_fd_t)-1)
    sdk_puts(log_fd, s);
}

static void fail(const char *what, cloudabi_errno_t error) {
  char num[24];
  num[sdk_fmt_u64(num, error)] = '\0';
  put("error: ");
  put(what);
  put(" ");
  put(path[0] != '\0' ? path : ".");
  put(": errno ");
  put(num);
  put("\n");
  status = 1;
}

static void logged(char kind) {
  char prefix[3] = {kind, ' ', '\0'};
  put(prefix);
  put(path);
  put("\n");
}

static int get_fd(const argdata_t *ad, const char *key, cloudabi_fd_t *fd) {
  argdata_t value;
  int v;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &v) != 0)
    return -1;
  *fd = (cloudabi_fd_t)v;
  return 0;
}

static cloudabi_errno_t open_at(cloudabi_fd_t dir, const char *name, size_t len, cloudabi_oflags_t oflags,
                                cloudabi_rights_t base, cloudabi_rights_t inheriting, cloudabi_fd_t *fd) {
  cloudabi_lookup_t lookup = {.fd = dir, .flags = 0};
  cloudabi_fdstat_t fds = {.fs_rights_base = base, .fs_rights_inheriting = inheriting};
  return cloudabi_sys_file_open(lookup, name, len, oflags, &fds, fd);
}

static void copy_file(cloudabi_fd_t from, cloudabi_fd_t to, const char *name, size_t len) {
  cloudabi_fd_t in, out;
  cloudabi_errno_t error = open_at(from, name, len, 0, READ_FILE_RIGHTS, 0, &in);
  if (error != 0) {
    fail("cannot open", error);
    return;
  }
  error = open_at(to, name, len, CLOUDABI_O_CREAT | CLOUDABI_O_TRUNC, WRITE_FILE_RIGHTS, 0, &out);
  if (error != 0) {
    cloudabi_sys_fd_close(in);
    fail("cannot create", error);
    return;
  }
  for (;;) {
    cloudabi_iovec_t iov = {.buf = data, .buf_len = sizeof(data)};
    size_t n;
    error = cloudabi_sys_fd_read(in, &iov, 1, &n);
    if (error != 0) {
      fail("cannot read", error);
      break;
    }
    if (n == 0) {
      logged('f');
      break;
    }
    error = sdk_write_all(out, data, n);
    if (error != 0) {
      fail("cannot write", error);
      break;
    }
  }
  cloudabi_sys_fd_close(in);
  cloudabi_sys_fd_close(out);
}

static void copy_link(cloudabi_fd_t from, cloudabi_fd_t to, const char *name, size_t len) {
  char target[4096];
  size_t used;
  cloudabi_errno_t error = cloudabi_sys_file_readlink(from, name, len, target, sizeof(target), &used);
  if (error == 0 && used == sizeof(target))
    error = CLOUDABI_ENAMETOOLONG;
  if (error != 0) {
    fail("cannot read link", error);
    return;
  }
  error = cloudabi_sys_file_symlink(target, used, to, name, len);
  if (error != 0)
    fail("cannot create link", error);
  else
    logged('l');
}

static void copy_tree(cloudabi_fd_t from, cloudabi_fd_t to, int depth);

static void copy_dir(cloudabi_fd_t from, cloudabi_fd_t to, const char *name, size_t len, int depth) {
  if (depth >= MAX_DEPTH) {
    fail("too deep:", CLOUDABI_ELOOP);
    return;
  }
  cloudabi_errno_t error = cloudabi_sys_file_create(to, name, len, CLOUDABI_FILETYPE_DIRECTORY);
  if (error != 0 && error != CLOUDABI_EEXIST) {
    fail("cannot create directory", error);
    return;
  }
  cloudabi_fd_t subfrom, subto;
  error = open_at(from, name, len, CLOUDABI_O_DIRECTORY, READ_DIR_RIGHTS, READ_DIR_RIGHTS | READ_FILE_RIGHTS, &subfrom);
  if (error != 0) {
    fail("cannot open directory", error);
    return;
  }
  error = open_at(to, name, len, CLOUDABI_O_DIRECTORY, WRITE_DIR_RIGHTS, WRITE_DIR_RIGHTS | WRITE_FILE_RIGHTS, &subto);
  if (error != 0) {
    cloudabi_sys_fd_close(subfrom);
    fail("cannot open directory", error);
    return;
  }
  logged('d');
  copy_tree(subfrom, subto, depth + 1);
  cloudabi_sys_fd_close(subfrom);
  cloudabi_sys_fd_close(subto);
}

static void copy_entry(cloudabi_fd_t from, cloudabi_fd_t to, const char *name, size_t len,
                       cloudabi_filetype_t type, int depth) {
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return;
  /* path += "/" + name, for the log. */
  size_t plen = strlen(path);
  if (plen + 1 + len + 1 > sizeof(path)) {
    fail("name too long in", CLOUDABI_ENAMETOOLONG);
    return;
  }
  if (plen > 0)
    path[plen++] = '/';
  memcpy(path + plen, name, len);
  path[plen + len] = '\0';

  if (type == CLOUDABI_FILETYPE_UNKNOWN) {
    cloudabi_lookup_t lookup = {.fd = from, .flags = 0};
    cloudabi_filestat_t st;
    cloudabi_errno_t error = cloudabi_sys_file_stat_get(lookup, name, len, &st);
    if (error != 0)
      fail("cannot stat", error);
    else
      type = st.st_filetype;
  }
  switch (type) {
    case CLOUDABI_FILETYPE_DIRECTORY:
      copy_dir(from, to, name, len, depth);
      break;
    case CLOUDABI_FILETYPE_REGULAR_FILE:
      copy_file(from, to, name, len);
      break;
    case CLOUDABI_FILETYPE_SYMBOLIC_LINK:
      copy_link(from, to, name, len);
      break;
    case CLOUDABI_FILETYPE_UNKNOWN:
      break;
    default:
      put("skipped ");
      put(path);
      put("\n");
  }
  path[plen > 0 ? plen - 1 : 0] = '\0';
}

/* Copies the entries of `from` into `to`. The directory is read in
 * batches; each batch is copied before the next is read, resuming at the
 * cookie of the last complete entry. */
static void copy_tree(cloudabi_fd_t from, cloudabi_fd_t to, int depth) {
  char buf[4096];
  cloudabi_dircookie_t cookie = CLOUDABI_DIRCOOKIE_START;
  for (;;) {
    size_t used;
    cloudabi_errno_t error = cloudabi_sys_file_readdir(from, buf, sizeof(buf), cookie, &used);
    if (error != 0) {
      fail("cannot read directory", error);
      return;
    }
    size_t off = 0;
    int complete = 0;
    while (off + sizeof(cloudabi_dirent_t) <= used) {
      cloudabi_dirent_t de;
      memcpy(&de, buf + off, sizeof(de));
      if (off + sizeof(de) + de.d_namlen > used)
        break;
      copy_entry(from, to, buf + off + sizeof(de), de.d_namlen, de.d_type, depth);
      off += sizeof(de) + de.d_namlen;
      cookie = de.d_next;
      complete = 1;
    }
    if (used < sizeof(buf))
      return;
    if (!complete) {
      fail("name too long in", CLOUDABI_ENAMETOOLONG);
      return;
    }
  }
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t from, to;
  if (get_fd(ad, "from", &from) != 0 || get_fd(ad, "to", &to) != 0)
    cloudabi_sys_proc_exit(2);
  argdata_t value;
  if (sdk_argdata_map_lookup(ad, "log", &value) == 0 && get_fd(ad, "log", &log_fd) != 0)
    cloudabi_sys_proc_exit(2);
  copy_tree(from, to, 0);
  cloudabi_sys_proc_exit(status);
}
