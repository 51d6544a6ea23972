/*
 * escape: tries to reach files outside the directories it was given.
 *
 * Argdata: a map {dir: fd, rodir: fd, out: fd, secret: str}. `dir` is a
 * directory with full rights, `rodir` the same directory granted
 * read-only, `out` receives the report, and `secret` is the absolute path
 * of a file next to the directory (outside it) that the program must never
 * read. The directory holds the files and symbolic links that escape_test.go
 * creates (see docs/ESCAPES.md for the layout).
 *
 * Each attempt writes one line "step errno[ detail]" to `out`: errno 0 is
 * success, otherwise the CloudABI errno number; detail is what a successful
 * read returned, or other information. The test compares every line with
 * the expected result. Exit status: 0, or 2 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "escape.h"

static cloudabi_fd_t dir, rodir;
static char path[16384];

#define S(str) str, sizeof(str) - 1

/* Opens path beneath d for reading and reports what it read. */
static void try_read(const char *step, cloudabi_fd_t d, const char *p, size_t len, int follow) {
  cloudabi_fd_t fd;
  cloudabi_errno_t error = open_at(d, p, len, follow, 0, FILE_READ_RIGHTS, 0, &fd);
  if (error != 0) {
    report(step, error, NULL, 0);
    return;
  }
  char buf[128];
  size_t got;
  error = read_some(fd, buf, sizeof(buf), &got);
  cloudabi_sys_fd_close(fd);
  if (error != 0) {
    report(step, 0, "read failed", 11);
    return;
  }
  report(step, 0, buf, got);
}

/* Opens a directory beneath d and reports its readdir output's names. */
static void try_list(const char *step, cloudabi_fd_t d, const char *p, size_t len) {
  cloudabi_fd_t fd;
  cloudabi_errno_t error =
      open_at(d, p, len, 1, CLOUDABI_O_DIRECTORY, DIR_READ_RIGHTS, FILE_READ_RIGHTS, &fd);
  if (error != 0) {
    report(step, error, NULL, 0);
    return;
  }
  static char buf[4096];
  char names[256];
  size_t used, n = 0;
  error = cloudabi_sys_file_readdir(fd, buf, sizeof(buf), 0, &used);
  cloudabi_sys_fd_close(fd);
  if (error != 0) {
    report(step, 0, "readdir failed", 14);
    return;
  }
  for (size_t off = 0; off + sizeof(cloudabi_dirent_t) <= used;) {
    cloudabi_dirent_t de;
    memcpy(&de, buf + off, sizeof(de));
    off += sizeof(de);
    for (size_t i = 0; i < de.d_namlen && off + i < used && n < sizeof(names) - 1; ++i)
      names[n++] = buf[off + i];
    if (n < sizeof(names) - 1)
      names[n++] = ',';
    off += de.d_namlen;
  }
  report(step, 0, names, n);
}

static size_t concat(char *dst, size_t cap, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la + lb + 1 > cap)
    return 0;
  memcpy(dst, a, la);
  memcpy(dst + la, b, lb);
  dst[la + lb] = '\0';
  return la + lb;
}

static size_t repeat(char *dst, size_t cap, const char *unit, size_t times, const char *tail) {
  size_t lu = strlen(unit), lt = strlen(tail), n = 0;
  if (lu * times + lt + 1 > cap)
    return 0;
  for (size_t i = 0; i < times; ++i, n += lu)
    memcpy(dst + n, unit, lu);
  memcpy(dst + n, tail, lt);
  n += lt;
  dst[n] = '\0';
  return n;
}

static cloudabi_errno_t rights_of(cloudabi_fd_t fd, cloudabi_fdstat_t *st) {
  return cloudabi_sys_fd_stat_get(fd, st);
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  const char *secret;
  if (get_fd(ad, "dir", &dir) != 0 || get_fd(ad, "rodir", &rodir) != 0 ||
      get_fd(ad, "out", &out) != 0 || sdk_argdata_map_lookup(ad, "secret", &value) != 0 ||
      argdata_get_str_c(&value, &secret) != 0)
    cloudabi_sys_proc_exit(2);
  size_t secret_len = strlen(secret);
  size_t n;
  cloudabi_fd_t fd;

  /* Controls: what is inside can be reached. */
  try_read("control_open", dir, S("ok"), 0);
  try_read("control_subdir", dir, S("sub/inner"), 0);
  try_read("control_dotdot_inside", dir, S("sub/../ok"), 0);
  try_read("control_symlink_inside", dir, S("link-in"), 1);
  try_read("control_rodir", rodir, S("ok"), 0);
  try_list("control_list", dir, S("sub"));

  /* Absolute paths. */
  try_read("absolute_path", dir, secret, secret_len, 1);
  try_read("absolute_etc_passwd", dir, S("/etc/passwd"), 1);
  try_list("absolute_root_dir", dir, S("/"));

  /* "..". */
  try_read("dotdot", dir, S("../secret"), 0);
  try_read("dot_dotdot", dir, S("./../secret"), 0);
  try_read("dotdot_nested", dir, S("sub/../../secret"), 0);
  try_list("dotdot_list", dir, S(".."));
  try_list("dotdot_slash_list", dir, S("../"));

  /* Symbolic links. */
  try_read("dotdot_after_symlink", dir, S("link-sub/../../secret"), 1);
  n = concat(path, sizeof(path), "link-root", secret);
  try_read("symlink_to_root", dir, path, n, 1);
  try_read("symlink_absolute", dir, S("link-abs-secret"), 1);
  try_read("symlink_relative_out", dir, S("link-up"), 1);
  try_read("symlink_relative_out_nofollow", dir, S("link-up"), 0);
  try_read("symlink_dotdot_component", dir, S("link-dotdot/secret"), 0);
  try_read("symlink_nested_up", dir, S("sub/up/secret"), 0);
  try_read("symlink_chain", dir, S("chain1"), 1);
  try_read("symlink_loop", dir, S("loop1"), 1);
  n = concat(path, sizeof(path), "link-proc-root", secret);
  try_read("magic_link_proc_root", dir, path, n, 1);
  try_read("magic_link_proc_fd", dir, S("link-proc-fd/0"), 1);
  try_read("magic_link_proc_cwd", dir, S("link-proc-cwd/secret"), 1);

  /* Reading a link that points out is fine; following it is not. */
  {
    char buf[256];
    size_t used = 0;
    cloudabi_errno_t error = cloudabi_sys_file_readlink(dir, S("link-up"), buf, sizeof(buf), &used);
    report("readlink_out", error, error == 0 ? buf : NULL, used);
    error = cloudabi_sys_file_readlink(dir, S("../link-elsewhere"), buf, sizeof(buf), &used);
    report("readlink_outside", error, error == 0 ? buf : NULL, used);
  }

  /* Hard links. */
  {
    cloudabi_lookup_t nofollow = {.fd = dir, .flags = 0};
    cloudabi_lookup_t follow = {.fd = dir, .flags = CLOUDABI_LOOKUP_SYMLINK_FOLLOW};
    report("link_source_outside", cloudabi_sys_file_link(nofollow, S("../secret"), dir, S("stolen")), NULL, 0);
    try_read("link_source_outside_read", dir, S("stolen"), 0);
    report("link_source_absolute", cloudabi_sys_file_link(nofollow, secret, secret_len, dir, S("stolen-abs")), NULL, 0);
    report("link_source_symlink_out", cloudabi_sys_file_link(follow, S("link-up"), dir, S("stolen-via-link")), NULL, 0);
    try_read("link_source_symlink_out_read", dir, S("stolen-via-link"), 0);
    report("link_target_outside", cloudabi_sys_file_link(nofollow, S("ok"), dir, S("../hardlink-out")), NULL, 0);
  }

  /* Renames. */
  report("rename_out", cloudabi_sys_file_rename(dir, S("victim"), dir, S("../moved-out")), NULL, 0);
  report("rename_in", cloudabi_sys_file_rename(dir, S("../secret"), dir, S("stolen-rename")), NULL, 0);
  try_read("rename_in_read", dir, S("stolen-rename"), 0);
  report("rename_through_symlink", cloudabi_sys_file_rename(dir, S("victim"), dir, S("link-dotdot/moved-link")), NULL, 0);
  try_read("rename_victim_still_there", dir, S("victim"), 0);

  /* Symbolic links the program makes itself. */
  report("symlink_create_relative_out", cloudabi_sys_file_symlink(S("../secret"), dir, S("made-up")), NULL, 0);
  try_read("symlink_create_relative_out_read", dir, S("made-up"), 1);
  report("symlink_create_absolute", cloudabi_sys_file_symlink(secret, secret_len, dir, S("made-abs")), NULL, 0);
  try_read("symlink_create_absolute_read", dir, S("made-abs"), 1);
  report("symlink_create_outside", cloudabi_sys_file_symlink(S("ok"), dir, S("../made-outside")), NULL, 0);

  /* Unlinking and creating outside. */
  report("unlink_dotdot", cloudabi_sys_file_unlink(dir, S("../secret"), 0), NULL, 0);
  report("rmdir_dotdot", cloudabi_sys_file_unlink(dir, S("../outside-dir"), CLOUDABI_UNLINK_REMOVEDIR), NULL, 0);
  report("unlink_through_symlink", cloudabi_sys_file_unlink(dir, S("link-dotdot/secret"), 0), NULL, 0);
  report("create_dotdot", open_at(dir, S("../created"), 0, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
  report("create_through_symlink", open_at(dir, S("link-dotdot/created"), 0, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
  report("create_dangling_symlink", open_at(dir, S("link-dangling"), 1, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
  report("mkdir_dotdot", cloudabi_sys_file_create(dir, S("../created-dir"), CLOUDABI_FILETYPE_DIRECTORY), NULL, 0);
  {
    cloudabi_lookup_t nofollow = {.fd = dir, .flags = 0};
    cloudabi_filestat_t st;
    memset(&st, 0, sizeof(st));
    report("stat_dotdot", cloudabi_sys_file_stat_get(nofollow, S("../secret"), &st), NULL, 0);
    report("stat_put_dotdot", cloudabi_sys_file_stat_put(nofollow, S("../secret"), &st, CLOUDABI_FILESTAT_MTIM), NULL, 0);
  }

  /* A directory descriptor opened beneath the grant is a capability of
   * its own: ".." from it stops at it. */
  {
    cloudabi_fd_t sub;
    cloudabi_errno_t error = open_at(dir, S("sub"), 0, CLOUDABI_O_DIRECTORY, DIR_READ_RIGHTS, FILE_READ_RIGHTS, &sub);
    report("subdir_open", error, NULL, 0);
    if (error == 0) {
      try_read("subdir_control", sub, S("inner"), 0);
      try_read("subdir_dotdot_inside_grant", sub, S("../ok"), 0);
      try_read("subdir_dotdot_dotdot", sub, S("../../secret"), 0);
      try_read("subdir_symlink_parent", sub, S("link-parent/ok"), 1);
      try_list("subdir_list_dotdot", sub, S(".."));
      cloudabi_sys_fd_close(sub);
    }
  }

  /* Paths with an embedded NUL and very long paths. */
  try_read("embedded_nul", dir, "ok\0/../../secret", 16, 0);
  try_read("embedded_nul_end", dir, "../secret\0", 10, 0);
  n = repeat(path, sizeof(path), "../", 1000, "secret");
  try_read("long_dotdot", dir, path, n, 0);
  n = repeat(path, sizeof(path), "../", 5000, "secret");
  try_read("long_dotdot_too_long", dir, path, n, 0);
  n = repeat(path, sizeof(path), "sub/../", 300, "../secret");
  try_read("long_in_and_out", dir, path, n, 0);

  /* Rights: the read-only directory cannot be used to change anything,
   * nor to get more rights. */
  report("rodir_reopen_dot_more_rights",
         open_at(rodir, S("."), 0, CLOUDABI_O_DIRECTORY, DIR_RIGHTS, DIR_RIGHTS | FILE_READ_RIGHTS, &fd), NULL, 0);
  {
    cloudabi_fd_t re;
    cloudabi_errno_t error = open_at(rodir, S("."), 0, CLOUDABI_O_DIRECTORY, DIR_READ_RIGHTS, FILE_READ_RIGHTS, &re);
    report("rodir_reopen_dot_same_rights", error, NULL, 0);
    if (error == 0) {
      report("rodir_reopened_create", open_at(re, S("new-ro2"), 0, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
      cloudabi_sys_fd_close(re);
    }
  }
  report("rodir_open_for_write", open_at(rodir, S("ok"), 0, 0, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
  report("rodir_inheriting_beyond", open_at(rodir, S("sub"), 0, CLOUDABI_O_DIRECTORY, DIR_READ_RIGHTS, FILE_WRITE_RIGHTS, &fd), NULL, 0);
  report("rodir_create", open_at(rodir, S("new-ro"), 0, CLOUDABI_O_CREAT, FILE_READ_RIGHTS | FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
  report("rodir_truncate", open_at(rodir, S("ok"), 0, CLOUDABI_O_TRUNC, FILE_READ_RIGHTS, 0, &fd), NULL, 0);
  report("rodir_unlink", cloudabi_sys_file_unlink(rodir, S("ok"), 0), NULL, 0);
  report("rodir_mkdir", cloudabi_sys_file_create(rodir, S("newdir-ro"), CLOUDABI_FILETYPE_DIRECTORY), NULL, 0);
  report("rodir_symlink", cloudabi_sys_file_symlink(S("ok"), rodir, S("newlink-ro")), NULL, 0);
  report("rodir_rename", cloudabi_sys_file_rename(rodir, S("victim"), rodir, S("victim-ro")), NULL, 0);
  {
    cloudabi_lookup_t l = {.fd = rodir, .flags = 0};
    report("rodir_link", cloudabi_sys_file_link(l, S("ok"), rodir, S("ok-link-ro")), NULL, 0);
  }
  {
    cloudabi_fdstat_t before, grow, after;
    rights_of(rodir, &before);
    grow = before;
    grow.fs_rights_base = DIR_RIGHTS;
    grow.fs_rights_inheriting = ~(cloudabi_rights_t)0;
    report("fd_stat_put_grow", cloudabi_sys_fd_stat_put(rodir, &grow, CLOUDABI_FDSTAT_RIGHTS), NULL, 0);
    rights_of(rodir, &after);
    int same = after.fs_rights_base == before.fs_rights_base &&
               after.fs_rights_inheriting == before.fs_rights_inheriting;
    report("fd_stat_put_grow_check", 0, same ? "unchanged" : "CHANGED", same ? 9 : 7);
    cloudabi_fd_t dup;
    cloudabi_errno_t error = cloudabi_sys_fd_dup(rodir, &dup);
    report("fd_dup", error, NULL, 0);
    if (error == 0) {
      report("fd_dup_grow", cloudabi_sys_fd_stat_put(dup, &grow, CLOUDABI_FDSTAT_RIGHTS), NULL, 0);
      report("fd_dup_create", open_at(dup, S("new-dup"), 0, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd), NULL, 0);
      cloudabi_sys_fd_close(dup);
    }
  }
  report("done", 0, NULL, 0);
  cloudabi_sys_proc_exit(0);
}
