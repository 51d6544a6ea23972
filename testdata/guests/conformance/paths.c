/*
 * paths: file_unlink, file_rename, file_link, file_symlink, file_readlink,
 * file_stat_get, file_stat_put, file_stat_fget and file_stat_fput.
 *
 * Optional argdata key `other`: a directory on another file system, for
 * the EXDEV checks.
 */
#include "conformance.h"

static int exists(cloudabi_fd_t dir, const char *path, size_t len) {
  cloudabi_filestat_t fs;
  return cloudabi_sys_file_stat_get(nofollow(dir), path, len, &fs) == 0;
}

/* has_contents reports whether the file at path holds exactly want. */
static int has_contents(cloudabi_fd_t dir, const char *path, size_t len, const char *want) {
  cloudabi_fd_t fd;
  char buf[64];
  if (open_file(nofollow(dir), path, len, 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &fd) != 0)
    return 0;
  size_t n = read_some(fd, buf, sizeof(buf));
  cloudabi_sys_fd_close(fd);
  return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static cloudabi_inode_t inode_of(cloudabi_fd_t dir, const char *path, size_t len) {
  cloudabi_filestat_t fs;
  if (cloudabi_sys_file_stat_get(nofollow(dir), path, len, &fs) != 0)
    return 0;
  return fs.st_ino;
}

static void test_unlink(cloudabi_fd_t dir) {
  expect("unlink_setup_file", create_file(dir, P("u"), "u"), 0);
  expect("unlink_setup_dir", cloudabi_sys_file_create(dir, P("ud"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("unlink_setup_full", cloudabi_sys_file_create(dir, P("full"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("unlink_setup_full_file", create_file(dir, P("full/f"), "f"), 0);

  cloudabi_fd_t d = without(dir, CLOUDABI_RIGHT_FILE_UNLINK, 0);
  expect("file_unlink_no_right", cloudabi_sys_file_unlink(d, P("u"), 0), CLOUDABI_ENOTCAPABLE);
  expect("file_unlink_removedir_no_right", cloudabi_sys_file_unlink(d, P("ud"), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  expect("file_unlink_file_slash", cloudabi_sys_file_unlink(dir, P("u/"), 0), CLOUDABI_ENOTDIR);
  expect("file_unlink", cloudabi_sys_file_unlink(dir, P("u"), 0), 0);
  expect_true("file_unlink_gone", !exists(dir, P("u")));
  expect("file_unlink_missing", cloudabi_sys_file_unlink(dir, P("u"), 0), CLOUDABI_ENOENT);
  expect("file_unlink_directory", cloudabi_sys_file_unlink(dir, P("ud"), 0), CLOUDABI_EPERM);
  expect("file_unlink_directory_slash", cloudabi_sys_file_unlink(dir, P("ud/"), 0), CLOUDABI_EPERM);
  expect("file_unlink_dot", cloudabi_sys_file_unlink(dir, P("."), 0), CLOUDABI_EPERM);
  expect_true("file_unlink_directory_kept", exists(dir, P("ud")));
  expect("file_unlink_removedir_missing", cloudabi_sys_file_unlink(dir, P("missing"), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOENT);
  expect("file_unlink_unknown_flag", cloudabi_sys_file_unlink(dir, P("ud"), 0x80), CLOUDABI_EINVAL);
  expect("file_unlink_removedir_file", cloudabi_sys_file_unlink(dir, P("full/f"), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTDIR);
  expect("file_unlink_removedir_nonempty", cloudabi_sys_file_unlink(dir, P("full"), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTEMPTY);
  expect("file_unlink_removedir_dot", cloudabi_sys_file_unlink(dir, P("full/."), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_EINVAL);
  expect("file_unlink_removedir_dotdot", cloudabi_sys_file_unlink(dir, P("full/.."), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTEMPTY);
  expect("file_unlink_removedir_escape", cloudabi_sys_file_unlink(dir, P(".."), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTCAPABLE);
  expect("file_unlink_dotdot_file", cloudabi_sys_file_unlink(dir, P("../secret"), 0), CLOUDABI_ENOTCAPABLE);
  expect("file_unlink_absolute", cloudabi_sys_file_unlink(dir, P("/tmp/x"), 0), CLOUDABI_ENOTCAPABLE);
  expect("file_unlink_empty", cloudabi_sys_file_unlink(dir, P(""), 0), CLOUDABI_ENOENT);
  expect("file_unlink_nul", cloudabi_sys_file_unlink(dir, P("full\0/f"), 0), CLOUDABI_EINVAL);
  expect("file_unlink_bad_fd", cloudabi_sys_file_unlink(4242, P("x"), 0), CLOUDABI_EBADF);
  expect("file_unlink_removedir_slash", cloudabi_sys_file_unlink(dir, P("ud/"), CLOUDABI_UNLINK_REMOVEDIR), 0);
  expect_true("file_unlink_removedir_gone", !exists(dir, P("ud")));

  /* Unlinking a link that points outside removes the link only. */
  expect("unlink_setup_out_link", cloudabi_sys_file_symlink(P("../secret"), dir, P("outlink")), 0);
  expect("file_unlink_link_out", cloudabi_sys_file_unlink(dir, P("outlink"), 0), 0);
  expect("unlink_setup_dir_link", cloudabi_sys_file_symlink(P("full"), dir, P("fulllink")), 0);
  expect("file_unlink_removedir_link", cloudabi_sys_file_unlink(dir, P("fulllink"), CLOUDABI_UNLINK_REMOVEDIR),
         CLOUDABI_ENOTDIR);
  expect("file_unlink_dir_link", cloudabi_sys_file_unlink(dir, P("fulllink"), 0), 0);
  expect_true("file_unlink_dir_link_target_kept", exists(dir, P("full/f")));
}

static void test_rename(cloudabi_fd_t dir, cloudabi_fd_t other) {
  expect("rename_setup_a", create_file(dir, P("ra"), "ra"), 0);
  expect("rename_setup_dir", cloudabi_sys_file_create(dir, P("rd"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("rename_setup_dir2", cloudabi_sys_file_create(dir, P("rd2"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("rename_setup_dir2_file", create_file(dir, P("rd2/x"), "x"), 0);

  expect("file_rename", cloudabi_sys_file_rename(dir, P("ra"), dir, P("rb")), 0);
  expect_true("file_rename_source_gone", !exists(dir, P("ra")));
  expect_true("file_rename_target_there", exists(dir, P("rb")));
  expect("file_rename_missing", cloudabi_sys_file_rename(dir, P("ra"), dir, P("rc")), CLOUDABI_ENOENT);
  expect("file_rename_into_dir", cloudabi_sys_file_rename(dir, P("rb"), dir, P("rd/rb")), 0);
  expect("file_rename_file_over_dir", cloudabi_sys_file_rename(dir, P("rd/rb"), dir, P("rd2")), CLOUDABI_EISDIR);
  expect("file_rename_dir_over_file", cloudabi_sys_file_rename(dir, P("rd2"), dir, P("rd/rb")), CLOUDABI_ENOTDIR);
  expect("file_rename_dir_over_nonempty", cloudabi_sys_file_rename(dir, P("rd"), dir, P("rd2")), CLOUDABI_ENOTEMPTY);
  expect("file_rename_dir_into_itself", cloudabi_sys_file_rename(dir, P("rd"), dir, P("rd/sub")), CLOUDABI_EINVAL);
  expect("file_rename_dot", cloudabi_sys_file_rename(dir, P("rd/."), dir, P("rx")), CLOUDABI_EINVAL);
  expect("file_rename_to_dotdot", cloudabi_sys_file_rename(dir, P("rd2"), dir, P("rd/..")), CLOUDABI_EINVAL);
  expect("file_rename_file_slash", cloudabi_sys_file_rename(dir, P("rd/rb/"), dir, P("rx")), CLOUDABI_ENOTDIR);
  expect("file_rename_escape_source", cloudabi_sys_file_rename(dir, P("../secret"), dir, P("stolen")), CLOUDABI_ENOTCAPABLE);
  expect("file_rename_escape_target", cloudabi_sys_file_rename(dir, P("rd/rb"), dir, P("../planted")), CLOUDABI_ENOTCAPABLE);
  expect("file_rename_absolute_target", cloudabi_sys_file_rename(dir, P("rd/rb"), dir, P("/tmp/planted")),
         CLOUDABI_ENOTCAPABLE);
  expect("file_rename_bad_fd1", cloudabi_sys_file_rename(4242, P("rd/rb"), dir, P("x")), CLOUDABI_EBADF);
  expect("file_rename_bad_fd2", cloudabi_sys_file_rename(dir, P("rd/rb"), 4242, P("x")), CLOUDABI_EBADF);

  /* Over an existing file: the target name now refers to the source. */
  expect("rename_setup_over_source", create_file(dir, P("rnew"), "new contents"), 0);
  expect("rename_setup_over_target", create_file(dir, P("rold"), "old"), 0);
  cloudabi_inode_t ino = inode_of(dir, P("rnew"));
  expect("file_rename_over_file", cloudabi_sys_file_rename(dir, P("rnew"), dir, P("rold")), 0);
  expect_true("file_rename_over_file_contents", has_contents(dir, P("rold"), "new contents"));
  expect_true("file_rename_over_file_inode", ino != 0 && inode_of(dir, P("rold")) == ino);
  expect_true("file_rename_over_file_source_gone", !exists(dir, P("rnew")));

  /* A directory onto an empty directory replaces it. */
  expect("rename_setup_dir_source", cloudabi_sys_file_create(dir, P("rsrc"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("rename_setup_dir_source_file", create_file(dir, P("rsrc/in"), "in"), 0);
  expect("rename_setup_dir_empty", cloudabi_sys_file_create(dir, P("rempty"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("file_rename_dir_over_empty", cloudabi_sys_file_rename(dir, P("rsrc"), dir, P("rempty")), 0);
  expect_true("file_rename_dir_over_empty_moved", has_contents(dir, P("rempty/in"), "in"));
  expect_true("file_rename_dir_over_empty_source_gone", !exists(dir, P("rsrc")));

  /* A symbolic link is moved itself, not the file it points to. */
  expect("rename_setup_link_target", create_file(dir, P("rlt"), "link target"), 0);
  expect("rename_setup_link", cloudabi_sys_file_symlink(P("rlt"), dir, P("rl1")), 0);
  cloudabi_inode_t tino = inode_of(dir, P("rlt"));
  expect("file_rename_symlink", cloudabi_sys_file_rename(dir, P("rl1"), dir, P("rl2")), 0);
  char buf[16];
  size_t n = 0;
  expect("file_rename_symlink_readlink", cloudabi_sys_file_readlink(dir, P("rl2"), buf, sizeof(buf), &n), 0);
  expect_true("file_rename_symlink_contents", n == 3 && memcmp(buf, "rlt", 3) == 0);
  expect_true("file_rename_symlink_source_gone", !exists(dir, P("rl1")));
  expect_true("file_rename_symlink_target_kept",
              inode_of(dir, P("rlt")) == tino && has_contents(dir, P("rlt"), "link target"));

  expect("file_rename_missing_target_dir", cloudabi_sys_file_rename(dir, P("rold"), dir, P("nodir/x")), CLOUDABI_ENOENT);
  expect("file_rename_file_to_slash", cloudabi_sys_file_rename(dir, P("rold"), dir, P("rslash/")), CLOUDABI_ENOTDIR);
  expect("file_rename_file_to_slash_file", cloudabi_sys_file_rename(dir, P("rold"), dir, P("rlt/")), CLOUDABI_ENOTDIR);
  expect_true("file_rename_failed_source_kept", has_contents(dir, P("rold"), "new contents") && !exists(dir, P("rslash")) &&
                                                    has_contents(dir, P("rlt"), "link target"));
  expect("file_rename_dotdot_source", cloudabi_sys_file_rename(dir, P("rd/.."), dir, P("rx")), CLOUDABI_EINVAL);

  /* Between two directory descriptors. */
  cloudabi_fd_t sub;
  expect("rename_setup_open_sub", open_file(nofollow(dir), P("rd"), CLOUDABI_O_DIRECTORY, 0, 0, 0, &sub), 0);
  /* sub was opened with no rights: it can be neither source nor target. */
  expect("file_rename_target_no_right", cloudabi_sys_file_rename(dir, P("rd2/x"), sub, P("y")), CLOUDABI_ENOTCAPABLE);
  expect("file_rename_source_no_right", cloudabi_sys_file_rename(sub, P("rb"), dir, P("y")), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(sub);
  expect("rename_setup_open_sub_rights",
         open_file(nofollow(dir), P("rd"), CLOUDABI_O_DIRECTORY,
                   CLOUDABI_RIGHT_FILE_RENAME_SOURCE | CLOUDABI_RIGHT_FILE_RENAME_TARGET, 0, 0, &sub),
         0);
  expect("file_rename_between_fds", cloudabi_sys_file_rename(dir, P("rd2/x"), sub, P("y")), 0);
  expect_true("file_rename_between_fds_there", exists(dir, P("rd/y")));
  expect("file_rename_back", cloudabi_sys_file_rename(sub, P("y"), dir, P("rd2/x")), 0);
  cloudabi_fd_t nosrc = without(dir, CLOUDABI_RIGHT_FILE_RENAME_SOURCE, 0);
  cloudabi_fd_t notgt = without(dir, CLOUDABI_RIGHT_FILE_RENAME_TARGET, 0);
  expect("file_rename_no_source_right", cloudabi_sys_file_rename(nosrc, P("rd2/x"), dir, P("z")), CLOUDABI_ENOTCAPABLE);
  expect("file_rename_no_target_right", cloudabi_sys_file_rename(dir, P("rd2/x"), notgt, P("z")), CLOUDABI_ENOTCAPABLE);
  expect("file_rename_source_right_suffices", cloudabi_sys_file_rename(notgt, P("rd2/x"), nosrc, P("z")), 0);
  cloudabi_sys_fd_close(nosrc);
  cloudabi_sys_fd_close(notgt);
  cloudabi_sys_fd_close(sub);

  if (other != (cloudabi_fd_t)-1) {
    expect("file_rename_cross_device", cloudabi_sys_file_rename(dir, P("z"), other, P("z")), CLOUDABI_EXDEV);
  }
}

static void test_link(cloudabi_fd_t dir, cloudabi_fd_t other) {
  expect("link_setup", create_file(dir, P("orig"), "orig"), 0);
  expect("link_setup_symlink", cloudabi_sys_file_symlink(P("orig"), dir, P("sym")), 0);
  expect("link_setup_out", cloudabi_sys_file_symlink(P("../secret"), dir, P("outsym")), 0);
  expect("link_setup_dir", cloudabi_sys_file_create(dir, P("ldir"), CLOUDABI_FILETYPE_DIRECTORY), 0);

  expect("file_link", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("hard")), 0);
  cloudabi_filestat_t a, b;
  expect("file_link_stat_orig", cloudabi_sys_file_stat_get(nofollow(dir), P("orig"), &a), 0);
  expect("file_link_stat_hard", cloudabi_sys_file_stat_get(nofollow(dir), P("hard"), &b), 0);
  expect_true("file_link_same_inode", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  expect_u64("file_link_nlink", a.st_nlink, 2);
  expect("file_link_exists", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("hard")), CLOUDABI_EEXIST);
  expect("file_link_missing", cloudabi_sys_file_link(nofollow(dir), P("missing"), dir, P("x")), CLOUDABI_ENOENT);
  expect("file_link_directory", cloudabi_sys_file_link(nofollow(dir), P("ldir"), dir, P("x")), CLOUDABI_EPERM);
  expect("file_link_target_dot", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("ldir/.")), CLOUDABI_EEXIST);
  expect("file_link_target_slash", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("new/")), CLOUDABI_ENOENT);
  expect("file_link_source_slash", cloudabi_sys_file_link(nofollow(dir), P("orig/"), dir, P("x")), CLOUDABI_ENOTDIR);
  expect("file_link_missing_target_dir", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("nodir/x")),
         CLOUDABI_ENOENT);
  expect("file_link_target_under_file", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("orig/x")),
         CLOUDABI_ENOTDIR);
  expect("file_link_source_dot", cloudabi_sys_file_link(nofollow(dir), P("."), dir, P("x")), CLOUDABI_EPERM);
  cloudabi_lookup_t bad = {.fd = dir, .flags = 0x100};
  expect("file_link_unknown_lookup_flag", cloudabi_sys_file_link(bad, P("orig"), dir, P("x")), CLOUDABI_EINVAL);
  expect_true("file_link_errors_nothing_created", !exists(dir, P("x")));

  /* Without following, the link itself is linked; following, its target. */
  expect("file_link_symlink_nofollow", cloudabi_sys_file_link(nofollow(dir), P("sym"), dir, P("hardsym")), 0);
  expect("file_link_symlink_nofollow_stat", cloudabi_sys_file_stat_get(nofollow(dir), P("hardsym"), &b), 0);
  expect_u64("file_link_symlink_nofollow_type", b.st_filetype, CLOUDABI_FILETYPE_SYMBOLIC_LINK);
  expect("file_link_symlink_follow", cloudabi_sys_file_link(follow(dir), P("sym"), dir, P("hardfollow")), 0);
  expect("file_link_symlink_follow_stat", cloudabi_sys_file_stat_get(nofollow(dir), P("hardfollow"), &b), 0);
  expect_true("file_link_symlink_follow_inode", b.st_ino == a.st_ino && b.st_filetype == CLOUDABI_FILETYPE_REGULAR_FILE);
  expect("file_link_follow_out", cloudabi_sys_file_link(follow(dir), P("outsym"), dir, P("stolen")), CLOUDABI_ENOTCAPABLE);
  expect("file_link_follow_directory", cloudabi_sys_file_link(follow(dir), P("ldir"), dir, P("x")), CLOUDABI_EPERM);
  expect("file_link_escape_source", cloudabi_sys_file_link(nofollow(dir), P("../secret"), dir, P("stolen")),
         CLOUDABI_ENOTCAPABLE);
  expect("file_link_escape_target", cloudabi_sys_file_link(nofollow(dir), P("orig"), dir, P("../planted")),
         CLOUDABI_ENOTCAPABLE);
  expect("file_link_bad_fd1", cloudabi_sys_file_link(nofollow(4242), P("orig"), dir, P("x")), CLOUDABI_EBADF);
  expect("file_link_bad_fd2", cloudabi_sys_file_link(nofollow(dir), P("orig"), 4242, P("x")), CLOUDABI_EBADF);
  cloudabi_fd_t nosrc = without(dir, CLOUDABI_RIGHT_FILE_LINK_SOURCE, 0);
  cloudabi_fd_t notgt = without(dir, CLOUDABI_RIGHT_FILE_LINK_TARGET, 0);
  expect("file_link_no_source_right", cloudabi_sys_file_link(nofollow(nosrc), P("orig"), dir, P("x")), CLOUDABI_ENOTCAPABLE);
  expect("file_link_no_target_right", cloudabi_sys_file_link(nofollow(dir), P("orig"), notgt, P("x")), CLOUDABI_ENOTCAPABLE);
  expect("file_link_rights_suffice", cloudabi_sys_file_link(nofollow(notgt), P("orig"), nosrc, P("x")), 0);
  cloudabi_sys_fd_close(nosrc);
  cloudabi_sys_fd_close(notgt);
  if (other != (cloudabi_fd_t)-1) {
    expect("file_link_cross_device", cloudabi_sys_file_link(nofollow(dir), P("orig"), other, P("x")), CLOUDABI_EXDEV);
  }
}

static char longlink[4100];

static void test_symlink_readlink(cloudabi_fd_t dir) {
  expect("file_symlink", cloudabi_sys_file_symlink(P("some/where"), dir, P("sl")), 0);
  expect("file_symlink_exists", cloudabi_sys_file_symlink(P("x"), dir, P("sl")), CLOUDABI_EEXIST);
  expect("file_symlink_dot", cloudabi_sys_file_symlink(P("x"), dir, P(".")), CLOUDABI_EEXIST);
  expect("file_symlink_absolute_contents", cloudabi_sys_file_symlink(P("/etc/passwd"), dir, P("slabs")), 0);
  expect("file_symlink_nul_contents", cloudabi_sys_file_symlink(P("a\0b"), dir, P("slnul")), CLOUDABI_EINVAL);
  expect("file_symlink_escape", cloudabi_sys_file_symlink(P("x"), dir, P("../planted")), CLOUDABI_ENOTCAPABLE);
  expect("file_symlink_missing_dir", cloudabi_sys_file_symlink(P("x"), dir, P("missing/sl")), CLOUDABI_ENOENT);
  expect("file_symlink_target_slash", cloudabi_sys_file_symlink(P("x"), dir, P("slnew/")), CLOUDABI_ENOENT);
  expect_true("file_symlink_target_slash_not_created", !exists(dir, P("slnew")));
  /* Contents are bounded as paths are: shorter than 4096 bytes. */
  memset(longlink, 'a', sizeof(longlink));
  expect("file_symlink_contents_too_long", cloudabi_sys_file_symlink(longlink, 4096, dir, P("sllong")),
         CLOUDABI_ENAMETOOLONG);
  expect("file_symlink_contents_far_too_long", cloudabi_sys_file_symlink(longlink, sizeof(longlink), dir, P("sllong")),
         CLOUDABI_ENAMETOOLONG);
  expect_true("file_symlink_too_long_not_created", !exists(dir, P("sllong")));
  expect("file_symlink_contents_longest", cloudabi_sys_file_symlink(longlink, 4095, dir, P("sllong")), 0);
  cloudabi_filestat_t lfs;
  expect("file_symlink_contents_longest_stat", cloudabi_sys_file_stat_get(nofollow(dir), P("sllong"), &lfs), 0);
  expect_u64("file_symlink_contents_longest_size", lfs.st_size, 4095);
  expect("file_symlink_bad_fd", cloudabi_sys_file_symlink(P("x"), 4242, P("sl2")), CLOUDABI_EBADF);
  cloudabi_fd_t d = without(dir, CLOUDABI_RIGHT_FILE_SYMLINK, 0);
  expect("file_symlink_no_right", cloudabi_sys_file_symlink(P("x"), d, P("sl2")), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);

  char buf[64];
  size_t n = 99;
  expect("file_readlink", cloudabi_sys_file_readlink(dir, P("sl"), buf, sizeof(buf), &n), 0);
  expect_true("file_readlink_contents", n == 10 && memcmp(buf, "some/where", 10) == 0);
  expect("file_readlink_short_buffer", cloudabi_sys_file_readlink(dir, P("sl"), buf, 4, &n), 0);
  expect_true("file_readlink_truncated", n == 4 && memcmp(buf, "some", 4) == 0);
  expect("file_readlink_empty_buffer", cloudabi_sys_file_readlink(dir, P("sl"), buf, 0, &n), 0);
  expect_u64("file_readlink_empty_buffer_count", n, 0);
  expect("file_readlink_absolute", cloudabi_sys_file_readlink(dir, P("slabs"), buf, sizeof(buf), &n), 0);
  expect_true("file_readlink_absolute_contents", n == 11 && memcmp(buf, "/etc/passwd", 11) == 0);
  expect("file_readlink_not_link", cloudabi_sys_file_readlink(dir, P("orig"), buf, sizeof(buf), &n), CLOUDABI_EINVAL);
  expect("file_readlink_directory", cloudabi_sys_file_readlink(dir, P("."), buf, sizeof(buf), &n), CLOUDABI_EINVAL);
  expect("file_readlink_missing", cloudabi_sys_file_readlink(dir, P("missing"), buf, sizeof(buf), &n), CLOUDABI_ENOENT);
  expect("file_readlink_under_file", cloudabi_sys_file_readlink(dir, P("orig/x"), buf, sizeof(buf), &n), CLOUDABI_ENOTDIR);
  expect("file_readlink_escape", cloudabi_sys_file_readlink(dir, P("../x"), buf, sizeof(buf), &n), CLOUDABI_ENOTCAPABLE);
  expect("file_readlink_wild_buffer", cloudabi_sys_file_readlink(dir, P("sl"), (char *)16, 8, &n), CLOUDABI_EFAULT);
  expect("file_readlink_bad_fd", cloudabi_sys_file_readlink(4242, P("sl"), buf, sizeof(buf), &n), CLOUDABI_EBADF);
  d = without(dir, CLOUDABI_RIGHT_FILE_READLINK, 0);
  expect("file_readlink_no_right", cloudabi_sys_file_readlink(d, P("sl"), buf, sizeof(buf), &n), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
}

static void test_stat(cloudabi_fd_t dir) {
  cloudabi_filestat_t fs, fs2;
  expect("stat_setup", create_file(dir, P("st"), "twelve bytes"), 0);
  expect("stat_setup_link", cloudabi_sys_file_symlink(P("st"), dir, P("stlink")), 0);
  expect("stat_setup_out", cloudabi_sys_file_symlink(P("../secret"), dir, P("stout")), 0);
  expect("file_stat_get", cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &fs), 0);
  expect_u64("file_stat_get_type", fs.st_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect_u64("file_stat_get_size", fs.st_size, 12);
  expect_u64("file_stat_get_nlink", fs.st_nlink, 1);
  expect_true("file_stat_get_times", fs.st_mtim > 1000000000ull * 1000000000ull && fs.st_ctim != 0 && fs.st_atim != 0);
  expect("file_stat_get_symlink", cloudabi_sys_file_stat_get(nofollow(dir), P("stlink"), &fs2), 0);
  expect_u64("file_stat_get_symlink_type", fs2.st_filetype, CLOUDABI_FILETYPE_SYMBOLIC_LINK);
  expect_u64("file_stat_get_symlink_size", fs2.st_size, 2);
  expect("file_stat_get_follow", cloudabi_sys_file_stat_get(follow(dir), P("stlink"), &fs2), 0);
  expect_true("file_stat_get_follow_same", fs2.st_ino == fs.st_ino && fs2.st_filetype == CLOUDABI_FILETYPE_REGULAR_FILE);
  expect("file_stat_get_dir", cloudabi_sys_file_stat_get(nofollow(dir), P("."), &fs2), 0);
  expect_u64("file_stat_get_dir_type", fs2.st_filetype, CLOUDABI_FILETYPE_DIRECTORY);
  expect("file_stat_get_missing", cloudabi_sys_file_stat_get(nofollow(dir), P("missing"), &fs2), CLOUDABI_ENOENT);
  expect("file_stat_get_escape", cloudabi_sys_file_stat_get(nofollow(dir), P("../secret"), &fs2), CLOUDABI_ENOTCAPABLE);
  expect("file_stat_get_out_link_follow", cloudabi_sys_file_stat_get(follow(dir), P("stout"), &fs2), CLOUDABI_ENOTCAPABLE);
  expect("file_stat_get_out_link_nofollow", cloudabi_sys_file_stat_get(nofollow(dir), P("stout"), &fs2), 0);
  expect("file_stat_get_not_dir", cloudabi_sys_file_stat_get(nofollow(dir), P("st/x"), &fs2), CLOUDABI_ENOTDIR);
  expect("file_stat_get_wild_buffer", cloudabi_sys_file_stat_get(nofollow(dir), P("st"), (cloudabi_filestat_t *)16),
         CLOUDABI_EFAULT);
  expect("file_stat_get_bad_fd", cloudabi_sys_file_stat_get(nofollow(4242), P("st"), &fs2), CLOUDABI_EBADF);
  cloudabi_lookup_t bad = {.fd = dir, .flags = 0x100};
  expect("file_stat_get_unknown_lookup_flag", cloudabi_sys_file_stat_get(bad, P("st"), &fs2), CLOUDABI_EINVAL);
  cloudabi_fd_t d = without(dir, CLOUDABI_RIGHT_FILE_STAT_GET, 0);
  expect("file_stat_get_no_right", cloudabi_sys_file_stat_get(nofollow(d), P("st"), &fs2), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);

  /* By descriptor. */
  cloudabi_fd_t f;
  expect("stat_open", open_file(nofollow(dir), P("st"), 0, FILE_RIGHTS, 0, 0, &f), 0);
  expect("file_stat_fget", cloudabi_sys_file_stat_fget(f, &fs2), 0);
  expect_true("file_stat_fget_same", fs2.st_ino == fs.st_ino && fs2.st_dev == fs.st_dev && fs2.st_size == 12 &&
                                         fs2.st_filetype == CLOUDABI_FILETYPE_REGULAR_FILE);
  expect("file_stat_fget_dir", cloudabi_sys_file_stat_fget(dir, &fs2), 0);
  expect_u64("file_stat_fget_dir_type", fs2.st_filetype, CLOUDABI_FILETYPE_DIRECTORY);
  expect("file_stat_fget_bad_fd", cloudabi_sys_file_stat_fget(4242, &fs2), CLOUDABI_EBADF);
  expect("file_stat_fget_wild_buffer", cloudabi_sys_file_stat_fget(f, (cloudabi_filestat_t *)16), CLOUDABI_EFAULT);
  d = without(f, CLOUDABI_RIGHT_FILE_STAT_FGET, 0);
  expect("file_stat_fget_no_right", cloudabi_sys_file_stat_fget(d, &fs2), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);

  /* file_stat_fput: size. */
  fs2.st_size = 3;
  expect("file_stat_fput_size", cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_SIZE), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_stat_fput_size_value", fs.st_size, 3);
  fs2.st_size = 100000;
  expect("file_stat_fput_grow", cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_SIZE), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_stat_fput_grow_value", fs.st_size, 100000);
  expect("file_stat_fput_size_and_times",
         cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_SIZE | CLOUDABI_FILESTAT_MTIM), CLOUDABI_EINVAL);
  expect("file_stat_fput_nothing", cloudabi_sys_file_stat_fput(f, &fs2, 0), CLOUDABI_EINVAL);
  expect("file_stat_fput_unknown", cloudabi_sys_file_stat_fput(f, &fs2, 0x20), CLOUDABI_EINVAL);
  fs2.st_size = (cloudabi_filesize_t)1 << 63;
  expect("file_stat_fput_huge_size", cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_SIZE), CLOUDABI_EINVAL);
  expect("file_stat_fput_directory_size", cloudabi_sys_file_stat_fput(dir, &fs2, CLOUDABI_FILESTAT_SIZE),
         CLOUDABI_ENOTCAPABLE);
  d = without(f, CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE, 0);
  fs2.st_size = 1;
  expect("file_stat_fput_size_no_right", cloudabi_sys_file_stat_fput(d, &fs2, CLOUDABI_FILESTAT_SIZE), CLOUDABI_ENOTCAPABLE);
  expect("file_stat_fput_times_with_only_times_right",
         cloudabi_sys_file_stat_fput(d, &fs2, CLOUDABI_FILESTAT_MTIM_NOW), 0);
  cloudabi_sys_fd_close(d);

  /* file_stat_fput: times. */
  fs2.st_atim = 1000000000123456789ull;
  fs2.st_mtim = 1100000000987654321ull;
  expect("file_stat_fput_times",
         cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_ATIM | CLOUDABI_FILESTAT_MTIM), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_stat_fput_atim", fs.st_atim, 1000000000123456789ull);
  expect_u64("file_stat_fput_mtim", fs.st_mtim, 1100000000987654321ull);
  fs2.st_mtim = 5;
  expect("file_stat_fput_atim_only", cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_ATIM), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_stat_fput_mtim_kept", fs.st_mtim, 1100000000987654321ull);
  cloudabi_timestamp_t now;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_REALTIME, 0, &now);
  expect("file_stat_fput_mtim_now", cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_MTIM_NOW), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_true("file_stat_fput_mtim_now_value", fs.st_mtim + 5000000000ull > now && fs.st_mtim < now + 5000000000ull);
  expect_u64("file_stat_fput_mtim_now_atim_kept", fs.st_atim, 1000000000123456789ull);
  /* Given with a value, a *_NOW flag wins. */
  fs2.st_atim = 1000000000123456789ull;
  fs2.st_mtim = 1100000000987654321ull;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_REALTIME, 0, &now);
  expect("file_stat_fput_atim_and_atim_now",
         cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_ATIM | CLOUDABI_FILESTAT_ATIM_NOW), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_true("file_stat_fput_atim_now_wins", fs.st_atim + 5000000000ull > now && fs.st_atim < now + 5000000000ull);
  expect("file_stat_fput_mtim_and_mtim_now",
         cloudabi_sys_file_stat_fput(f, &fs2, CLOUDABI_FILESTAT_MTIM | CLOUDABI_FILESTAT_MTIM_NOW), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_true("file_stat_fput_mtim_now_wins", fs.st_mtim + 5000000000ull > now && fs.st_mtim < now + 5000000000ull);
  d = without(f, CLOUDABI_RIGHT_FILE_STAT_FPUT_TIMES, 0);
  expect("file_stat_fput_times_no_right", cloudabi_sys_file_stat_fput(d, &fs2, CLOUDABI_FILESTAT_MTIM), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  expect("file_stat_fput_directory_times", cloudabi_sys_file_stat_fput(dir, &fs2, CLOUDABI_FILESTAT_MTIM_NOW), 0);
  expect("file_stat_fput_bad_fd", cloudabi_sys_file_stat_fput(4242, &fs2, CLOUDABI_FILESTAT_MTIM), CLOUDABI_EBADF);
  expect("file_stat_fput_wild_buffer",
         cloudabi_sys_file_stat_fput(f, (const cloudabi_filestat_t *)16, CLOUDABI_FILESTAT_MTIM), CLOUDABI_EFAULT);
  cloudabi_sys_fd_close(f);

  /* file_stat_put: times by path, of the link or of its target. */
  fs2.st_mtim = 1200000000000000000ull;
  expect("file_stat_put", cloudabi_sys_file_stat_put(nofollow(dir), P("st"), &fs2, CLOUDABI_FILESTAT_MTIM), 0);
  cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &fs);
  expect_u64("file_stat_put_mtim", fs.st_mtim, 1200000000000000000ull);
  fs2.st_mtim = 1300000000000000000ull;
  expect("file_stat_put_link", cloudabi_sys_file_stat_put(nofollow(dir), P("stlink"), &fs2, CLOUDABI_FILESTAT_MTIM), 0);
  cloudabi_sys_file_stat_get(nofollow(dir), P("stlink"), &fs);
  expect_u64("file_stat_put_link_mtim", fs.st_mtim, 1300000000000000000ull);
  cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &fs);
  expect_u64("file_stat_put_link_target_kept", fs.st_mtim, 1200000000000000000ull);
  fs2.st_mtim = 1400000000000000000ull;
  expect("file_stat_put_follow", cloudabi_sys_file_stat_put(follow(dir), P("stlink"), &fs2, CLOUDABI_FILESTAT_MTIM), 0);
  cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &fs);
  expect_u64("file_stat_put_follow_mtim", fs.st_mtim, 1400000000000000000ull);
  expect("file_stat_put_size", cloudabi_sys_file_stat_put(nofollow(dir), P("st"), &fs2, CLOUDABI_FILESTAT_SIZE),
         CLOUDABI_EINVAL);
  expect("file_stat_put_atim_now", cloudabi_sys_file_stat_put(nofollow(dir), P("st"), &fs2, CLOUDABI_FILESTAT_ATIM_NOW), 0);
  expect("file_stat_put_escape", cloudabi_sys_file_stat_put(nofollow(dir), P("../secret"), &fs2, CLOUDABI_FILESTAT_MTIM),
         CLOUDABI_ENOTCAPABLE);
  expect("file_stat_put_out_link_follow",
         cloudabi_sys_file_stat_put(follow(dir), P("stout"), &fs2, CLOUDABI_FILESTAT_MTIM), CLOUDABI_ENOTCAPABLE);
  expect("file_stat_put_missing", cloudabi_sys_file_stat_put(nofollow(dir), P("missing"), &fs2, CLOUDABI_FILESTAT_MTIM),
         CLOUDABI_ENOENT);
  expect("file_stat_put_bad_fd", cloudabi_sys_file_stat_put(nofollow(4242), P("st"), &fs2, CLOUDABI_FILESTAT_MTIM),
         CLOUDABI_EBADF);
  expect("file_stat_put_unknown_lookup_flag", cloudabi_sys_file_stat_put(bad, P("st"), &fs2, CLOUDABI_FILESTAT_MTIM),
         CLOUDABI_EINVAL);
  /* No flags: nothing to set, and nothing changes. */
  cloudabi_filestat_t before;
  cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &before);
  fs2.st_atim = 5;
  fs2.st_mtim = 5;
  expect("file_stat_put_no_flags", cloudabi_sys_file_stat_put(nofollow(dir), P("st"), &fs2, 0), 0);
  cloudabi_sys_file_stat_get(nofollow(dir), P("st"), &fs);
  expect_true("file_stat_put_no_flags_unchanged", fs.st_atim == before.st_atim && fs.st_mtim == before.st_mtim);
  d = without(dir, CLOUDABI_RIGHT_FILE_STAT_PUT_TIMES, 0);
  expect("file_stat_put_no_right", cloudabi_sys_file_stat_put(nofollow(d), P("st"), &fs2, CLOUDABI_FILESTAT_MTIM),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir = start(ad);
  cloudabi_fd_t other = optional_fd(ad, "other");
  test_unlink(dir);
  test_rename(dir, other);
  test_link(dir, other);
  test_symlink_readlink(dir);
  test_stat(dir);
  cloudabi_sys_proc_exit(failures);
}
