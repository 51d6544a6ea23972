/*
 * race: opens and reads, as fast as it can, paths whose symbolic links the
 * test keeps swapping between a target inside the directory and one
 * outside it, and changes the tree through them.
 *
 * Argdata: a map {dir: fd, out: fd, seconds: int}. For `seconds` of
 * monotonic time the program opens "race" (a link the test flips between
 * "ok" and "../secret") and "racedir/secret" (with "racedir" flipped between
 * "sub" and ".."), following links, and reads each file it opens. The
 * files inside hold "harmless" and "decoy"; anything else read is reported
 * as "LEAK path content". It also opens "racecreate" (flipped between
 * "sub/created" and "../created-outside") with O_CREAT, and writes nothing
 * to it; the test checks that nothing was created outside.
 *
 * Through "racedir" it also calls every other system call that resolves a
 * path: file_stat_get of "racedir/secret" (an inode other than the
 * decoy's is a LEAK), file_stat_put of its times, file_readlink of
 * "racedir/link", and pairs that make and remove a name: file_create and
 * file_unlink of a directory, file_symlink and file_unlink, file_link
 * and file_unlink, file_rename there and back. Inside, a pair may find
 * its name already made or already gone (EEXIST, ENOENT: "expected");
 * outside, the test's watch on the parent directory sees any change.
 *
 * At the end it writes one line per path or call:
 * "name ok=N refused=M expected=X other=K last_other=E" (refused counts
 * ENOTCAPABLE, other any other error, E the last such errno).
 * Exit status: 0, or 2 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "escape.h"

struct target {
  const char *path;
  const char *expect; /* NULL: create the file instead of reading it */
  uint64_t ok, refused, expected, other;
  cloudabi_errno_t last_other;
  unsigned leaks;
};

/* count files an outcome: ENOTCAPABLE is refused; EEXIST and ENOENT are
   expected where the call makes or removes a name. */
static int count(struct target *t, cloudabi_errno_t error, int pair) {
  if (error == 0) {
    ++t->ok;
    return 1;
  }
  if (error == CLOUDABI_ENOTCAPABLE)
    ++t->refused;
  else if (pair && (error == CLOUDABI_EEXIST || error == CLOUDABI_ENOENT))
    ++t->expected;
  else {
    ++t->other;
    t->last_other = error;
  }
  return 0;
}

static void leak(struct target *t, const char *what, const char *buf, size_t len) {
  if (t->leaks >= 10)
    return;
  ++t->leaks;
  put("LEAK ");
  put(t->path);
  put(" ");
  report(what, 0, buf, len);
}

static void attempt(cloudabi_fd_t dir, struct target *t) {
  cloudabi_fd_t fd;
  cloudabi_errno_t error =
      t->expect != NULL
          ? open_at(dir, t->path, strlen(t->path), 1, 0, FILE_READ_RIGHTS, 0, &fd)
          : open_at(dir, t->path, strlen(t->path), 1, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd);
  if (!count(t, error, 0))
    return;
  if (t->expect == NULL) {
    cloudabi_sys_fd_close(fd);
    return;
  }
  char buf[128];
  size_t got;
  error = read_some(fd, buf, sizeof(buf), &got);
  cloudabi_sys_fd_close(fd);
  size_t len = strlen(t->expect);
  if (error == 0 && (got != len || memcmp(buf, t->expect, len) != 0))
    leak(t, "content", buf, got);
}

#define PATH(s) s, sizeof(s) - 1

/* The calls through "racedir" other than file_open. */
enum { STAT, STAT_PUT, READLINK, MKDIR, RMDIR, SYMLINK, UNLINK_SYMLINK, LINK, UNLINK_LINK, RENAME, RENAME_BACK, NCALLS };

static struct target calls[NCALLS] = {
    [STAT] = {.path = "stat"},
    [STAT_PUT] = {.path = "stat_put"},
    [READLINK] = {.path = "readlink"},
    [MKDIR] = {.path = "mkdir"},
    [RMDIR] = {.path = "rmdir"},
    [SYMLINK] = {.path = "symlink"},
    [UNLINK_SYMLINK] = {.path = "unlink_symlink"},
    [LINK] = {.path = "link"},
    [UNLINK_LINK] = {.path = "unlink_link"},
    [RENAME] = {.path = "rename"},
    [RENAME_BACK] = {.path = "rename_back"},
};

static void attempt_calls(cloudabi_fd_t dir, cloudabi_inode_t decoy) {
  cloudabi_lookup_t follow = {.fd = dir, .flags = CLOUDABI_LOOKUP_SYMLINK_FOLLOW};
  cloudabi_lookup_t nofollow = {.fd = dir};
  cloudabi_filestat_t st;
  if (count(&calls[STAT], cloudabi_sys_file_stat_get(follow, PATH("racedir/secret"), &st), 0) && st.st_ino != decoy)
    leak(&calls[STAT], "inode", NULL, 0);
  count(&calls[STAT_PUT],
        cloudabi_sys_file_stat_put(follow, PATH("racedir/secret"), &st,
                                   CLOUDABI_FILESTAT_ATIM_NOW | CLOUDABI_FILESTAT_MTIM_NOW),
        0);
  char buf[64];
  size_t used;
  if (count(&calls[READLINK], cloudabi_sys_file_readlink(dir, PATH("racedir/link"), buf, sizeof(buf), &used), 0) &&
      (used != 6 || memcmp(buf, "inside", 6) != 0))
    leak(&calls[READLINK], "link", buf, used);
  count(&calls[MKDIR], cloudabi_sys_file_create(dir, PATH("racedir/made"), CLOUDABI_FILETYPE_DIRECTORY), 1);
  count(&calls[RMDIR], cloudabi_sys_file_unlink(dir, PATH("racedir/made"), CLOUDABI_UNLINK_REMOVEDIR), 1);
  count(&calls[SYMLINK], cloudabi_sys_file_symlink(PATH("ok"), dir, PATH("racedir/madelink")), 1);
  count(&calls[UNLINK_SYMLINK], cloudabi_sys_file_unlink(dir, PATH("racedir/madelink"), 0), 1);
  count(&calls[LINK], cloudabi_sys_file_link(nofollow, PATH("ok"), dir, PATH("racedir/hardlink")), 1);
  count(&calls[UNLINK_LINK], cloudabi_sys_file_unlink(dir, PATH("racedir/hardlink"), 0), 1);
  count(&calls[RENAME], cloudabi_sys_file_rename(dir, PATH("racedir/moving"), dir, PATH("racedir/moved")), 1);
  count(&calls[RENAME_BACK], cloudabi_sys_file_rename(dir, PATH("racedir/moved"), dir, PATH("racedir/moving")), 1);
}

static void put_target(const struct target *t) {
  put(t->path);
  put(" ok=");
  put_u64(t->ok);
  put(" refused=");
  put_u64(t->refused);
  put(" expected=");
  put_u64(t->expected);
  put(" other=");
  put_u64(t->other);
  put(" last_other=");
  put_u64(t->last_other);
  put("\n");
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir;
  argdata_t value;
  uint64_t seconds;
  if (get_fd(ad, "dir", &dir) != 0 || get_fd(ad, "out", &out) != 0 ||
      sdk_argdata_map_lookup(ad, "seconds", &value) != 0 || argdata_get_int(&value, &seconds) != 0)
    cloudabi_sys_proc_exit(2);
  struct target targets[] = {
      {.path = "race", .expect = "harmless"},
      {.path = "racedir/secret", .expect = "decoy"},
      {.path = "racecreate", .expect = NULL},
  };
  /* The decoy's inode, seen through the directory itself. */
  cloudabi_filestat_t decoy;
  if (cloudabi_sys_file_stat_get((cloudabi_lookup_t){.fd = dir}, PATH("sub/secret"), &decoy) != 0)
    cloudabi_sys_proc_exit(2);
  cloudabi_timestamp_t start, now;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &start);
  do {
    for (int i = 0; i < 64; ++i) {
      for (size_t j = 0; j < sizeof(targets) / sizeof(targets[0]); ++j)
        attempt(dir, &targets[j]);
      attempt_calls(dir, decoy.st_ino);
    }
    cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &now);
  } while (now - start < seconds * 1000000000ull);
  for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); ++i)
    put_target(&targets[i]);
  for (size_t i = 0; i < NCALLS; ++i)
    put_target(&calls[i]);
  cloudabi_sys_proc_exit(0);
}
