/*
 * readdir: file_readdir: entries, types, inode numbers, cookies, the
 * truncated last entry, and rights.
 *
 * Optional argdata key `null`: a character device, which has every right
 * but is not a directory.
 */
#include "conformance.h"

#define MAXNAMES 16

struct listing {
  int n;
  char names[MAXNAMES][16];
  cloudabi_filetype_t types[MAXNAMES];
  cloudabi_inode_t inos[MAXNAMES];
};

static char buf[4096];

/* parse adds the complete entries in buf[0:used] to l and returns the
 * cookie after the last complete one (or `cookie` if there is none). */
static cloudabi_dircookie_t parse(struct listing *l, size_t used, cloudabi_dircookie_t cookie, int *complete) {
  size_t off = 0;
  *complete = 0;
  while (off + sizeof(cloudabi_dirent_t) <= used) {
    cloudabi_dirent_t de;
    memcpy(&de, buf + off, sizeof(de));
    if (off + sizeof(de) + de.d_namlen > used)
      break;
    if (l->n < MAXNAMES && de.d_namlen < sizeof(l->names[0])) {
      memcpy(l->names[l->n], buf + off + sizeof(de), de.d_namlen);
      l->names[l->n][de.d_namlen] = '\0';
      l->types[l->n] = de.d_type;
      l->inos[l->n] = de.d_ino;
      l->n++;
    }
    cookie = de.d_next;
    ++*complete;
    off += sizeof(de) + de.d_namlen;
  }
  return cookie;
}

static int find(const struct listing *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->names[i], name) == 0)
      return i;
  return -1;
}

static void check_listing(const char *what, const struct listing *l) {
  static const char *const names[] = {".", "..", "a", "bb", "c", "l"};
  static const cloudabi_filetype_t types[] = {CLOUDABI_FILETYPE_DIRECTORY, CLOUDABI_FILETYPE_DIRECTORY,
                                              CLOUDABI_FILETYPE_REGULAR_FILE, CLOUDABI_FILETYPE_REGULAR_FILE,
                                              CLOUDABI_FILETYPE_DIRECTORY, CLOUDABI_FILETYPE_SYMBOLIC_LINK};
  int ok = l->n == 6;
  for (int i = 0; i < 6; i++) {
    int j = find(l, names[i]);
    if (j < 0 || l->types[j] != types[i] || l->inos[j] == 0)
      ok = 0;
  }
  expect_true(what, ok);
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir = start(ad);
  cloudabi_fd_t null = optional_fd(ad, "null");

  expect("readdir_setup_dir", cloudabi_sys_file_create(dir, P("d"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("readdir_setup_a", create_file(dir, P("d/a"), "a"), 0);
  expect("readdir_setup_bb", create_file(dir, P("d/bb"), "bb"), 0);
  expect("readdir_setup_c", cloudabi_sys_file_create(dir, P("d/c"), CLOUDABI_FILETYPE_DIRECTORY), 0);
  expect("readdir_setup_l", cloudabi_sys_file_symlink(P("a"), dir, P("d/l")), 0);
  expect("readdir_setup_empty", cloudabi_sys_file_create(dir, P("empty"), CLOUDABI_FILETYPE_DIRECTORY), 0);

  cloudabi_fd_t d;
  expect("readdir_open", open_file(nofollow(dir), P("d"), CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FILE_READDIR, 0, 0, &d), 0);

  /* Everything at once: the buffer is not filled, so that is the end. */
  size_t used = 0;
  expect("file_readdir", cloudabi_sys_file_readdir(d, buf, sizeof(buf), CLOUDABI_DIRCOOKIE_START, &used), 0);
  expect_true("file_readdir_not_full", used > 0 && used < sizeof(buf));
  struct listing all = {0};
  int complete;
  cloudabi_dircookie_t last = parse(&all, used, 0, &complete);
  expect_u64("file_readdir_entries", complete, 6);
  check_listing("file_readdir_listing", &all);
  expect_u64("file_readdir_packed",
             used, 6 * sizeof(cloudabi_dirent_t) + 1 + 2 + 1 + 2 + 1 + 1);
  cloudabi_filestat_t fs;
  cloudabi_sys_file_stat_get(nofollow(dir), P("d/a"), &fs);
  int ia = find(&all, "a");
  expect_true("file_readdir_inode", ia >= 0 && all.inos[ia] == fs.st_ino);
  cloudabi_sys_file_stat_get(nofollow(dir), P("d"), &fs);
  int idot = find(&all, ".");
  expect_true("file_readdir_dot_inode", idot >= 0 && all.inos[idot] == fs.st_ino);

  /* Resuming after the last entry gives nothing more. */
  expect("file_readdir_at_end", cloudabi_sys_file_readdir(d, buf, sizeof(buf), last, &used), 0);
  expect_u64("file_readdir_at_end_used", used, 0);

  /* Starting again gives everything again: the cookie is the position. */
  expect("file_readdir_again", cloudabi_sys_file_readdir(d, buf, sizeof(buf), CLOUDABI_DIRCOOKIE_START, &used), 0);
  struct listing again = {0};
  parse(&again, used, 0, &complete);
  check_listing("file_readdir_again_listing", &again);

  /* A small buffer is filled exactly, the last entry cut short. */
  expect("file_readdir_small", cloudabi_sys_file_readdir(d, buf, 30, CLOUDABI_DIRCOOKIE_START, &used), 0);
  expect_u64("file_readdir_small_used", used, 30);
  expect("file_readdir_tiny", cloudabi_sys_file_readdir(d, buf, 10, CLOUDABI_DIRCOOKIE_START, &used), 0);
  expect_u64("file_readdir_tiny_used", used, 10);
  expect("file_readdir_zero", cloudabi_sys_file_readdir(d, buf, 0, CLOUDABI_DIRCOOKIE_START, &used), 0);
  expect_u64("file_readdir_zero_used", used, 0);

  /* One entry at a time, resuming from each entry's cookie. */
  struct listing step = {0};
  cloudabi_dircookie_t cookie = CLOUDABI_DIRCOOKIE_START;
  int calls = 0, ok = 1;
  for (;;) {
    if (cloudabi_sys_file_readdir(d, buf, sizeof(cloudabi_dirent_t) + 3, cookie, &used) != 0) {
      ok = 0;
      break;
    }
    if (++calls > 20) {
      ok = 0;
      break;
    }
    if (used == 0)
      break;
    cookie = parse(&step, used, cookie, &complete);
    if (complete != 1) {
      ok = 0;
      break;
    }
  }
  expect_true("file_readdir_stepwise_calls", ok && calls == 7);
  check_listing("file_readdir_stepwise_listing", &step);

  /* Entries removed and added while reading: the cookies stay usable. */
  struct listing part = {0};
  expect("file_readdir_part", cloudabi_sys_file_readdir(d, buf, 2 * sizeof(cloudabi_dirent_t) + 2, 0, &used), 0);
  cookie = parse(&part, used, 0, &complete);
  expect("readdir_unlink_during", cloudabi_sys_file_unlink(dir, P("d/bb"), 0), 0);
  expect("readdir_create_during", create_file(dir, P("d/new"), "new"), 0);
  expect("file_readdir_resume", cloudabi_sys_file_readdir(d, buf, sizeof(buf), cookie, &used), 0);
  parse(&part, used, cookie, &complete);
  expect_true("file_readdir_resume_no_removed", find(&part, "bb") < 0 || find(&part, "bb") < 2);
  expect_true("file_readdir_resume_kept", find(&part, "a") >= 0 && find(&part, "c") >= 0 && find(&part, "l") >= 0);

  /* An empty directory has "." and "..". */
  cloudabi_fd_t e;
  expect("readdir_open_empty", open_file(nofollow(dir), P("empty"), CLOUDABI_O_DIRECTORY, CLOUDABI_RIGHT_FILE_READDIR, 0, 0, &e), 0);
  expect("file_readdir_empty", cloudabi_sys_file_readdir(e, buf, sizeof(buf), 0, &used), 0);
  struct listing empty = {0};
  parse(&empty, used, 0, &complete);
  expect_true("file_readdir_empty_dots", empty.n == 2 && find(&empty, ".") >= 0 && find(&empty, "..") >= 0);
  cloudabi_sys_fd_close(e);

  /* The directory granted to the program can be listed too. */
  expect("file_readdir_granted", cloudabi_sys_file_readdir(dir, buf, sizeof(buf), 0, &used), 0);
  struct listing top = {0};
  parse(&top, used, 0, &complete);
  expect_true("file_readdir_granted_entries", find(&top, "d") >= 0 && find(&top, "empty") >= 0);

  /* Errors. */
  expect("file_readdir_bad_fd", cloudabi_sys_file_readdir(4242, buf, sizeof(buf), 0, &used), CLOUDABI_EBADF);
  expect("file_readdir_wild_buffer", cloudabi_sys_file_readdir(d, (void *)16, 64, 0, &used), CLOUDABI_EFAULT);
  expect("file_readdir_wild_result", cloudabi_sys_file_readdir(d, buf, 64, 0, (size_t *)16), CLOUDABI_EFAULT);
  expect("file_readdir_huge_cookie",
         cloudabi_sys_file_readdir(d, buf, sizeof(buf), (cloudabi_dircookie_t)1 << 63, &used), CLOUDABI_EINVAL);
  expect("file_readdir_largest_cookie", cloudabi_sys_file_readdir(d, buf, sizeof(buf), ~(cloudabi_dircookie_t)0, &used),
         CLOUDABI_EINVAL);
  cloudabi_fd_t nr = without(d, CLOUDABI_RIGHT_FILE_READDIR, 0);
  expect("file_readdir_no_right", cloudabi_sys_file_readdir(nr, buf, sizeof(buf), 0, &used), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(nr);
  cloudabi_fd_t f;
  expect("readdir_open_file", open_file(nofollow(dir), P("d/a"), 0, FILE_RIGHTS, 0, 0, &f), 0);
  expect("file_readdir_file", cloudabi_sys_file_readdir(f, buf, sizeof(buf), 0, &used), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(f);
  if (null != (cloudabi_fd_t)-1) {
    expect_true("readdir_null_has_right", (rights_of(null) & CLOUDABI_RIGHT_FILE_READDIR) != 0);
    expect("file_readdir_not_directory", cloudabi_sys_file_readdir(null, buf, sizeof(buf), 0, &used), CLOUDABI_ENOTDIR);
  }
  cloudabi_sys_fd_close(d);
  cloudabi_sys_proc_exit(failures);
}
