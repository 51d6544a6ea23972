/*
 * open: file_open (flags, rights, modes, symbolic links, paths that try
 * to leave the directory), file_create, file_advise and file_allocate.
 *
 * Optional argdata key `null`: a character device, which takes no advice.
 */
#include "conformance.h"

#define DIR_BASE_RIGHTS                                                                                        \
  (CLOUDABI_RIGHT_FILE_OPEN | CLOUDABI_RIGHT_FILE_READDIR | CLOUDABI_RIGHT_FILE_STAT_GET |                     \
   CLOUDABI_RIGHT_FILE_STAT_FGET | CLOUDABI_RIGHT_FILE_CREATE_DIRECTORY | CLOUDABI_RIGHT_FILE_CREATE_FILE)

static char longpath[4100];

static int exists(cloudabi_fd_t dir, const char *path, size_t len) {
  cloudabi_filestat_t fs;
  return cloudabi_sys_file_stat_get(nofollow(dir), path, len, &fs) == 0;
}

static void test_create(cloudabi_fd_t dir) {
  expect("file_create", cloudabi_sys_file_create(dir, P("sub"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("file_create_exists", cloudabi_sys_file_create(dir, P("sub"), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_EEXIST);
  expect("file_create_nested", cloudabi_sys_file_create(dir, P("sub/inner"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("file_create_trailing_slash", cloudabi_sys_file_create(dir, P("sub2/"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("file_create_dot", cloudabi_sys_file_create(dir, P("."), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_EEXIST);
  expect("file_create_sub_dotdot", cloudabi_sys_file_create(dir, P("sub/.."), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_EEXIST);
  expect("file_create_missing_parent",
         cloudabi_sys_file_create(dir, P("missing/x"), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_ENOENT);
  expect("file_create_empty", cloudabi_sys_file_create(dir, P(""), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_ENOENT);
  expect("file_create_regular_file",
         cloudabi_sys_file_create(dir, P("f"), CLOUDABI_FILETYPE_REGULAR_FILE), CLOUDABI_EINVAL);
  expect("file_create_socket", cloudabi_sys_file_create(dir, P("f"), CLOUDABI_FILETYPE_SOCKET_STREAM), CLOUDABI_EINVAL);
  expect("file_create_dotdot", cloudabi_sys_file_create(dir, P("../escape"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_ENOTCAPABLE);
  expect("file_create_absolute", cloudabi_sys_file_create(dir, P("/tmp/escape"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_ENOTCAPABLE);
  expect("file_create_nul", cloudabi_sys_file_create(dir, P("a\0b"), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_EINVAL);
  memset(longpath, 'a', sizeof(longpath));
  expect("file_create_path_too_long", cloudabi_sys_file_create(dir, longpath, 4096, CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_ENAMETOOLONG);
  expect("file_create_name_too_long", cloudabi_sys_file_create(dir, longpath, 300, CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_ENAMETOOLONG);
  expect("file_create_wild_path", cloudabi_sys_file_create(dir, (const char *)16, 4, CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_EFAULT);
  expect("file_create_bad_fd", cloudabi_sys_file_create(4242, P("x"), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_EBADF);
  cloudabi_fd_t d = without(dir, CLOUDABI_RIGHT_FILE_CREATE_DIRECTORY, 0);
  expect("file_create_no_right", cloudabi_sys_file_create(d, P("x"), CLOUDABI_FILETYPE_DIRECTORY), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  expect("file_create_under_file_setup", create_file(dir, P("plain"), "plain"), 0);
  expect("file_create_under_file", cloudabi_sys_file_create(dir, P("plain/x"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_ENOTDIR);
  /* Any existing entry is EEXIST; a symbolic link is not followed. */
  expect("file_create_existing_file", cloudabi_sys_file_create(dir, P("plain"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_EEXIST);
  expect("file_create_existing_symlink_setup", cloudabi_sys_file_symlink(P("plain"), dir, P("clink")), 0);
  expect("file_create_existing_symlink", cloudabi_sys_file_create(dir, P("clink"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_EEXIST);
  expect("file_create_dangling_symlink_setup", cloudabi_sys_file_symlink(P("cnowhere"), dir, P("cdangling")), 0);
  expect("file_create_dangling_symlink", cloudabi_sys_file_create(dir, P("cdangling"), CLOUDABI_FILETYPE_DIRECTORY),
         CLOUDABI_EEXIST);
  expect_true("file_create_dangling_symlink_not_followed", !exists(dir, P("cnowhere")));
}

static void test_open(cloudabi_fd_t dir) {
  cloudabi_fd_t f, g;
  cloudabi_fdstat_t st;
  expect("file_open_creat",
         open_file(nofollow(dir), P("target"), CLOUDABI_O_CREAT, FILE_RIGHTS | CLOUDABI_RIGHT_FILE_OPEN, 0, 0, &f), 0);
  expect("file_open_creat_stat", cloudabi_sys_fd_stat_get(f, &st), 0);
  expect_u64("file_open_creat_type", st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  /* FILE_OPEN does not apply to a file and is dropped. */
  expect_u64("file_open_rights_reduced", st.fs_rights_base, FILE_RIGHTS);
  size_t n;
  cloudabi_ciovec_t iov = {.buf = "hello", .buf_len = 5};
  expect("file_open_write", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  cloudabi_sys_fd_close(f);

  expect("file_open_excl", open_file(nofollow(dir), P("target"), CLOUDABI_O_CREAT | CLOUDABI_O_EXCL, FILE_RIGHTS, 0, 0, &f),
         CLOUDABI_EEXIST);
  expect("file_open_missing", open_file(nofollow(dir), P("missing"), 0, FILE_RIGHTS, 0, 0, &f), CLOUDABI_ENOENT);
  expect("file_open_missing_dir", open_file(nofollow(dir), P("missing/x"), CLOUDABI_O_CREAT, FILE_RIGHTS, 0, 0, &f),
         CLOUDABI_ENOENT);
  expect("file_open_empty_path", open_file(nofollow(dir), P(""), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOENT);
  expect("file_open_o_directory_file",
         open_file(nofollow(dir), P("target"), CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTDIR);
  expect("file_open_through_file",
         open_file(nofollow(dir), P("target/x"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTDIR);
  expect("file_open_directory_for_writing",
         open_file(nofollow(dir), P("sub"), 0, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_EISDIR);
  expect("file_open_unknown_oflag", open_file(nofollow(dir), P("target"), 0x80, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_EINVAL);
  expect("file_open_bad_fd", open_file(nofollow(4242), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_EBADF);
  expect("file_open_wild_fdstat",
         cloudabi_sys_file_open(nofollow(dir), P("target"), 0, (const cloudabi_fdstat_t *)16, &f), CLOUDABI_EFAULT);
  expect("file_open_wild_result", open_file(nofollow(dir), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, (cloudabi_fd_t *)16),
         CLOUDABI_EFAULT);
  expect("file_open_nul", open_file(nofollow(dir), P("tar\0get"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_EINVAL);
  expect("file_open_too_long", open_file(nofollow(dir), longpath, 4096, 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENAMETOOLONG);
  cloudabi_lookup_t bad = {.fd = dir, .flags = 0x100};
  expect("file_open_unknown_lookup_flag", open_file(bad, P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_EINVAL);
  expect("file_open_creat_directory",
         open_file(nofollow(dir), P("sub"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_EISDIR);
  expect("file_open_trunc_directory",
         open_file(nofollow(dir), P("sub"), CLOUDABI_O_TRUNC, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_EISDIR);
  expect("file_open_creat_slash",
         open_file(nofollow(dir), P("new/"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_EISDIR);
  expect_true("file_open_creat_slash_not_created", !exists(dir, P("new")));
  /* O_DIRECTORY cannot create anything: EINVAL, whether the name exists or not. */
  expect("file_open_creat_o_directory_existing",
         open_file(nofollow(dir), P("sub"), CLOUDABI_O_CREAT | CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FILE_READDIR, 0, 0, &f),
         CLOUDABI_EINVAL);
  expect("file_open_creat_o_directory_missing",
         open_file(nofollow(dir), P("newdir"), CLOUDABI_O_CREAT | CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FILE_READDIR, 0,
                   0, &f),
         CLOUDABI_EINVAL);
  expect_true("file_open_creat_o_directory_not_created", !exists(dir, P("newdir")));

  /* A directory: base rights reduced, inheriting rights kept. */
  expect("file_open_directory",
         open_file(nofollow(dir), P("sub"), CLOUDABI_O_DIRECTORY, DIR_BASE_RIGHTS | CLOUDABI_RIGHT_FD_SEEK,
                   CLOUDABI_RIGHT_FD_READ, 0, &g),
         0);
  expect("file_open_directory_stat", cloudabi_sys_fd_stat_get(g, &st), 0);
  expect_u64("file_open_directory_type", st.fs_filetype, CLOUDABI_FILETYPE_DIRECTORY);
  expect_u64("file_open_directory_base", st.fs_rights_base, DIR_BASE_RIGHTS);
  expect_u64("file_open_directory_inheriting", st.fs_rights_inheriting, CLOUDABI_RIGHT_FD_READ);
  expect("file_open_directory_relative", open_file(nofollow(g), P("inner"), CLOUDABI_O_DIRECTORY, 0, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  /* The new descriptor's inheriting rights bound what it can open. */
  expect("file_open_beyond_inheriting",
         open_file(nofollow(g), P("x"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_within_inheriting",
         open_file(nofollow(g), P("x"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  /* ".." can never leave the opened directory, even into its parent. */
  expect("file_open_subdir_dotdot",
         open_file(nofollow(g), P("../target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(g);

  /* Truncation. */
  expect("file_open_trunc", open_file(nofollow(dir), P("target"), CLOUDABI_O_TRUNC, FILE_RIGHTS, 0, 0, &f), 0);
  cloudabi_filestat_t fs;
  expect("file_open_trunc_stat", cloudabi_sys_file_stat_fget(f, &fs), 0);
  expect_u64("file_open_trunc_size", fs.st_size, 0);
  expect("file_open_trunc_write", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  cloudabi_sys_fd_close(f);

  /* Read-only: the descriptor has only what was asked for. */
  expect("file_open_read_only", open_file(nofollow(dir), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  expect_u64("file_open_read_only_rights", rights_of(f), CLOUDABI_RIGHT_FD_READ);
  expect("file_open_read_only_write", cloudabi_sys_fd_write(f, &iov, 1, &n), CLOUDABI_ENOTCAPABLE);
  char buf[16];
  expect_u64("file_open_read_only_read", read_some(f, buf, sizeof(buf)), 5);
  cloudabi_sys_fd_close(f);
  expect("file_open_write_only", open_file(nofollow(dir), P("target"), 0, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), 0);
  expect("file_open_write_only_write", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  cloudabi_sys_fd_close(f);

  /* Flags. */
  expect("file_open_append",
         open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_APPEND, &f), 0);
  cloudabi_sys_fd_stat_get(f, &st);
  expect_u64("file_open_append_flag", st.fs_flags, CLOUDABI_FDFLAG_APPEND);
  expect("file_open_append_write", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_open_append_size", fs.st_size, 10);
  cloudabi_sys_fd_close(f);
  expect("file_open_sync", open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_SYNC, &f), 0);
  cloudabi_sys_fd_stat_get(f, &st);
  expect_u64("file_open_sync_flag", st.fs_flags, CLOUDABI_FDFLAG_SYNC);
  cloudabi_sys_fd_close(f);
  expect("file_open_dsync", open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_DSYNC, &f), 0);
  cloudabi_sys_fd_stat_get(f, &st);
  expect_u64("file_open_dsync_flag", st.fs_flags, CLOUDABI_FDFLAG_DSYNC);
  cloudabi_sys_fd_close(f);
  expect("file_open_nonblock",
         open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_NONBLOCK, &f), 0);
  cloudabi_sys_fd_stat_get(f, &st);
  expect_u64("file_open_nonblock_flag", st.fs_flags, CLOUDABI_FDFLAG_NONBLOCK);
  expect_u64("file_open_nonblock_read", read_some(f, buf, sizeof(buf)), 10);
  cloudabi_sys_fd_close(f);
  expect("file_open_unknown_fdflag", open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, 0x40, &f), CLOUDABI_EINVAL);

  /* Rights of the directory. */
  cloudabi_fd_t d = without(dir, CLOUDABI_RIGHT_FILE_OPEN, 0);
  expect("file_open_no_right", open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  d = without(dir, CLOUDABI_RIGHT_FILE_CREATE_FILE, 0);
  expect("file_open_creat_no_right",
         open_file(nofollow(d), P("new"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_creat_existing_no_right",
         open_file(nofollow(d), P("target"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_no_creat_right_plain_open",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  cloudabi_sys_fd_close(d);
  d = without(dir, 0, CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE);
  expect("file_open_trunc_no_right",
         open_file(nofollow(d), P("target"), CLOUDABI_O_TRUNC, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  d = without(dir, 0, CLOUDABI_RIGHT_FD_WRITE);
  expect("file_open_write_not_inherited",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_inheriting_not_inherited",
         open_file(nofollow(d), P("sub"), 0, CLOUDABI_RIGHT_FILE_OPEN, CLOUDABI_RIGHT_FD_WRITE, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_read_inherited", open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  cloudabi_sys_fd_close(d);
  d = without(dir, 0, CLOUDABI_RIGHT_FD_SYNC | CLOUDABI_RIGHT_FD_DATASYNC);
  expect("file_open_sync_no_right",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, CLOUDABI_FDFLAG_SYNC, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_dsync_no_right",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, CLOUDABI_FDFLAG_DSYNC, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_rsync_no_right",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, CLOUDABI_FDFLAG_RSYNC, &f), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  d = without(dir, 0, CLOUDABI_RIGHT_FD_SYNC);
  expect("file_open_dsync_with_datasync",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, CLOUDABI_FDFLAG_DSYNC, &f), 0);
  cloudabi_sys_fd_close(f);
  expect("file_open_sync_with_datasync",
         open_file(nofollow(d), P("target"), 0, CLOUDABI_RIGHT_FD_READ, 0, CLOUDABI_FDFLAG_SYNC, &f), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(d);
  /* A file descriptor cannot open anything. */
  expect("file_open_file_open", open_file(nofollow(dir), P("target"), 0, FILE_RIGHTS, 0, 0, &g), 0);
  expect("file_open_relative_to_file", open_file(nofollow(g), P("x"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(g);
}

static void test_symlinks_and_escapes(cloudabi_fd_t dir) {
  cloudabi_fd_t f;
  expect("symlink_setup_in", cloudabi_sys_file_symlink(P("target"), dir, P("link")), 0);
  expect("symlink_setup_dir", cloudabi_sys_file_symlink(P("sub"), dir, P("dirlink")), 0);
  expect("symlink_setup_up", cloudabi_sys_file_symlink(P("../target"), dir, P("sub/up")), 0);
  expect("symlink_setup_abs", cloudabi_sys_file_symlink(P("/etc/passwd"), dir, P("abs")), 0);
  expect("symlink_setup_out", cloudabi_sys_file_symlink(P("../secret"), dir, P("out")), 0);
  expect("symlink_setup_deep_out", cloudabi_sys_file_symlink(P("../../secret"), dir, P("sub/out")), 0);
  expect("symlink_setup_loop", cloudabi_sys_file_symlink(P("loop"), dir, P("loop")), 0);

  expect("file_open_symlink_nofollow", open_file(nofollow(dir), P("link"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ELOOP);
  expect("file_open_symlink_follow", open_file(follow(dir), P("link"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  /* Only the last component is subject to the lookup flag. */
  expect("file_open_through_dirlink",
         open_file(nofollow(dir), P("dirlink/inner"), CLOUDABI_O_DIRECTORY, 0, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  expect("file_open_relative_link_with_dotdot",
         open_file(follow(dir), P("sub/up"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  expect("file_open_dotdot_inside", open_file(follow(dir), P("sub/../target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  expect("file_open_dot_components", open_file(follow(dir), P("./sub/./inner/../../target"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);

  expect("file_open_loop", open_file(follow(dir), P("loop"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ELOOP);
  expect("file_open_loop_middle", open_file(nofollow(dir), P("loop/x"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ELOOP);
  expect("file_open_abs_link", open_file(follow(dir), P("abs"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_abs_link_nofollow", open_file(nofollow(dir), P("abs"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ELOOP);
  expect("file_open_out_link", open_file(follow(dir), P("out"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_deep_out_link", open_file(follow(dir), P("sub/out"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  expect("file_open_excl_symlink",
         open_file(nofollow(dir), P("link"), CLOUDABI_O_CREAT | CLOUDABI_O_EXCL, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_EEXIST);
  expect("file_open_excl_symlink_follow",
         open_file(follow(dir), P("link"), CLOUDABI_O_CREAT | CLOUDABI_O_EXCL, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_EEXIST);
  /* Following a dangling link inside the directory creates its target. */
  expect("symlink_setup_dangling", cloudabi_sys_file_symlink(P("sub/made"), dir, P("dangling")), 0);
  expect("file_open_creat_dangling_follow",
         open_file(follow(dir), P("dangling"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
  cloudabi_filestat_t fs;
  expect("file_open_creat_dangling_target_stat", cloudabi_sys_file_stat_get(nofollow(dir), P("sub/made"), &fs), 0);
  expect_u64("file_open_creat_dangling_target_type", fs.st_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect("file_open_creat_dangling_link_stat", cloudabi_sys_file_stat_get(nofollow(dir), P("dangling"), &fs), 0);
  expect_u64("file_open_creat_dangling_link_kept", fs.st_filetype, CLOUDABI_FILETYPE_SYMBOLIC_LINK);
  expect("file_open_out_link_creat",
         open_file(follow(dir), P("out"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_dotdot", open_file(follow(dir), P("../secret"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  expect("file_open_dotdot_creat",
         open_file(follow(dir), P("../created"), CLOUDABI_O_CREAT, CLOUDABI_RIGHT_FD_WRITE, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_sub_dotdot_dotdot",
         open_file(follow(dir), P("sub/../../secret"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f), CLOUDABI_ENOTCAPABLE);
  expect("file_open_absolute", open_file(follow(dir), P("/etc/passwd"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  expect("file_open_proc", open_file(follow(dir), P("/proc/self/root/etc/passwd"), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  expect("file_open_dotdot_only", open_file(follow(dir), P(".."), 0, CLOUDABI_RIGHT_FD_READ, 0, 0, &f),
         CLOUDABI_ENOTCAPABLE);
  expect("file_open_dot", open_file(follow(dir), P("."), CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FILE_READDIR, 0, 0, &f), 0);
  cloudabi_sys_fd_close(f);
}

static void test_advise_allocate(cloudabi_fd_t dir, cloudabi_fd_t null) {
  cloudabi_fd_t f;
  expect("advise_setup", open_file(nofollow(dir), P("adv"), CLOUDABI_O_CREAT, FILE_RIGHTS, 0, 0, &f), 0);
  expect("file_advise", cloudabi_sys_file_advise(f, 0, 100, CLOUDABI_ADVICE_SEQUENTIAL), 0);
  expect("file_advise_willneed", cloudabi_sys_file_advise(f, 0, 0, CLOUDABI_ADVICE_WILLNEED), 0);
  expect("file_advise_dontneed", cloudabi_sys_file_advise(f, 0, 0, CLOUDABI_ADVICE_DONTNEED), 0);
  expect("file_advise_bad_advice", cloudabi_sys_file_advise(f, 0, 100, 0), CLOUDABI_EINVAL);
  expect("file_advise_bad_advice_high", cloudabi_sys_file_advise(f, 0, 100, 7), CLOUDABI_EINVAL);
  expect("file_advise_bad_fd", cloudabi_sys_file_advise(4242, 0, 100, CLOUDABI_ADVICE_NORMAL), CLOUDABI_EBADF);
  expect("file_advise_huge_offset",
         cloudabi_sys_file_advise(f, (cloudabi_filesize_t)1 << 63, 1, CLOUDABI_ADVICE_NORMAL), CLOUDABI_EINVAL);
  expect("file_advise_huge_length",
         cloudabi_sys_file_advise(f, 0, (cloudabi_filesize_t)1 << 63, CLOUDABI_ADVICE_NORMAL), CLOUDABI_EINVAL);
  expect("file_advise_overflow",
         cloudabi_sys_file_advise(f, ((cloudabi_filesize_t)1 << 63) - 16, 256, CLOUDABI_ADVICE_NORMAL), CLOUDABI_EINVAL);
  /* Only regular files take advice: other files with the right are ENODEV. */
  expect_true("file_advise_directory_has_right", (rights_of(dir) & CLOUDABI_RIGHT_FILE_ADVISE) != 0);
  expect("file_advise_directory", cloudabi_sys_file_advise(dir, 0, 100, CLOUDABI_ADVICE_NORMAL), CLOUDABI_ENODEV);
  if (null != (cloudabi_fd_t)-1 && (rights_of(null) & CLOUDABI_RIGHT_FILE_ADVISE) != 0) {
    expect("file_advise_character_device", cloudabi_sys_file_advise(null, 0, 100, CLOUDABI_ADVICE_NORMAL),
           CLOUDABI_ENODEV);
  }
  cloudabi_fd_t g = without(f, CLOUDABI_RIGHT_FILE_ADVISE, 0);
  expect("file_advise_no_right", cloudabi_sys_file_advise(g, 0, 100, CLOUDABI_ADVICE_NORMAL), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(g);

  expect("file_allocate", cloudabi_sys_file_allocate(f, 100, 4000), 0);
  cloudabi_filestat_t fs;
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_allocate_size", fs.st_size, 4100);
  expect("file_allocate_inside", cloudabi_sys_file_allocate(f, 0, 10), 0);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_allocate_inside_size", fs.st_size, 4100);
  expect("file_allocate_zero_length", cloudabi_sys_file_allocate(f, 0, 0), CLOUDABI_EINVAL);
  expect("file_allocate_huge", cloudabi_sys_file_allocate(f, (cloudabi_filesize_t)1 << 63, 1), CLOUDABI_EINVAL);
  expect("file_allocate_too_big", cloudabi_sys_file_allocate(f, ((cloudabi_filesize_t)1 << 63) - 16, 256),
         CLOUDABI_EFBIG);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("file_allocate_too_big_size", fs.st_size, 4100);
  expect("file_allocate_bad_fd", cloudabi_sys_file_allocate(4242, 0, 1), CLOUDABI_EBADF);
  expect("file_allocate_directory", cloudabi_sys_file_allocate(dir, 0, 1), CLOUDABI_ENOTCAPABLE);
  g = without(f, CLOUDABI_RIGHT_FILE_ALLOCATE, 0);
  expect("file_allocate_no_right", cloudabi_sys_file_allocate(g, 0, 1), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(g);
  cloudabi_sys_fd_close(f);
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir = start(ad);
  cloudabi_fd_t null = optional_fd(ad, "null");
  test_create(dir);
  test_open(dir);
  test_symlinks_and_escapes(dir);
  test_advise_allocate(dir, null);
  cloudabi_sys_proc_exit(failures);
}
