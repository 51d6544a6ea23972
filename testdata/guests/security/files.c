/*
 * files: a short file workload for the load test (load_test.go): in the
 * directory `dir` it creates a subdirectory, writes a file there, reads it
 * back, renames it, lists the subdirectory, removes both, and writes
 * "files ok <id>\n" to `out` (or "files FAIL <step> <errno>\n").
 *
 * Argdata: a map {out: !fd 0, dir: !fd 1, id: INT}.
 * Exit status: 0, 1 on a failed step, 2 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

static cloudabi_fd_t out;

static void step(const char *what, cloudabi_errno_t e) {
  if (e == 0)
    return;
  char num[24];
  num[sdk_fmt_u64(num, e)] = '\0';
  sdk_puts(out, "files FAIL ");
  sdk_puts(out, what);
  sdk_puts(out, " ");
  sdk_puts(out, num);
  sdk_puts(out, "\n");
  cloudabi_sys_proc_exit(1);
}

#define S(s) s, sizeof(s) - 1

void program_main(const argdata_t *ad) {
  argdata_t v;
  int fd;
  uint64_t id;
  if (sdk_argdata_map_lookup(ad, "out", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  out = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "dir", &v) != 0 || argdata_get_fd(&v, &fd) != 0 ||
      sdk_argdata_map_lookup(ad, "id", &v) != 0 || argdata_get_int(&v, &id) != 0)
    cloudabi_sys_proc_exit(2);
  cloudabi_fd_t dir = (cloudabi_fd_t)fd;

  step("mkdir", cloudabi_sys_file_create(dir, S("work"), CLOUDABI_FILETYPE_DIRECTORY));
  cloudabi_lookup_t at = {.fd = dir, .flags = 0};
  cloudabi_fdstat_t fds = {.fs_rights_base = CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_FD_SEEK};
  cloudabi_fd_t f;
  step("create", cloudabi_sys_file_open(at, S("work/data"), CLOUDABI_O_CREAT, &fds, &f));
  char buf[64];
  size_t n = sdk_fmt_u64(buf, id);
  cloudabi_ciovec_t c = {.buf = buf, .buf_len = n};
  size_t done;
  step("write", cloudabi_sys_fd_write(f, &c, 1, &done));
  char back[64];
  cloudabi_iovec_t r = {.buf = back, .buf_len = sizeof(back)};
  step("pread", cloudabi_sys_fd_pread(f, &r, 1, 0, &done));
  step("compare", done == n && memcmp(back, buf, n) == 0 ? 0 : CLOUDABI_EIO);
  step("close", cloudabi_sys_fd_close(f));
  step("rename", cloudabi_sys_file_rename(dir, S("work/data"), dir, S("work/renamed")));
  cloudabi_fd_t w;
  cloudabi_fdstat_t dfs = {.fs_rights_base = CLOUDABI_RIGHT_FILE_READDIR};
  step("open_dir", cloudabi_sys_file_open(at, S("work"), CLOUDABI_O_DIRECTORY, &dfs, &w));
  char ents[512];
  step("readdir", cloudabi_sys_file_readdir(w, ents, sizeof(ents), CLOUDABI_DIRCOOKIE_START, &done));
  step("readdir_size", done > 0 ? 0 : CLOUDABI_EIO);
  step("close_dir", cloudabi_sys_fd_close(w));
  step("unlink", cloudabi_sys_file_unlink(dir, S("work/renamed"), 0));
  step("rmdir", cloudabi_sys_file_unlink(dir, S("work"), CLOUDABI_UNLINK_REMOVEDIR));
  sdk_puts(out, "files ok ");
  sdk_write_all(out, buf, n);
  sdk_puts(out, "\n");
  cloudabi_sys_proc_exit(0);
}
