/*
 * race: opens and reads, as fast as it can, paths whose symbolic links the
 * test keeps swapping between a target inside the directory and one
 * outside it.
 *
 * Argdata: a map {dir: fd, out: fd, seconds: int}. For `seconds` of
 * monotonic time the program opens "race" (a link the test flips between
 * "ok" and "../secret") and "racedir/secret" (with "racedir" flipped between
 * "sub" and ".."), following links, and reads each file it opens. The
 * files inside hold "harmless" and "decoy"; anything else read is reported
 * as "LEAK path content". It also opens "racecreate" (flipped between
 * "sub/created" and "../created-outside") with O_CREAT, and writes nothing
 * to it; the test checks that nothing was created outside.
 * At the end it writes one line per path:
 * "path opened=N refused=M other=K last_other=E" (refused counts
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
  uint64_t opened, refused, other;
  cloudabi_errno_t last_other;
  unsigned leaks;
};

static void attempt(cloudabi_fd_t dir, struct target *t) {
  cloudabi_fd_t fd;
  cloudabi_errno_t error =
      t->expect != NULL
          ? open_at(dir, t->path, strlen(t->path), 1, 0, FILE_READ_RIGHTS, 0, &fd)
          : open_at(dir, t->path, strlen(t->path), 1, CLOUDABI_O_CREAT, FILE_WRITE_RIGHTS, 0, &fd);
  if (error == CLOUDABI_ENOTCAPABLE) {
    ++t->refused;
    return;
  }
  if (error != 0) {
    ++t->other;
    t->last_other = error;
    return;
  }
  ++t->opened;
  if (t->expect == NULL) {
    cloudabi_sys_fd_close(fd);
    return;
  }
  char buf[128];
  size_t got;
  error = read_some(fd, buf, sizeof(buf), &got);
  cloudabi_sys_fd_close(fd);
  size_t len = strlen(t->expect);
  if (error == 0 && (got != len || memcmp(buf, t->expect, len) != 0) && t->leaks < 10) {
    ++t->leaks;
    put("LEAK ");
    put(t->path);
    put(" ");
    report("content", 0, buf, got);
  }
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
  cloudabi_timestamp_t start, now;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &start);
  do {
    for (int i = 0; i < 64; ++i)
      for (size_t j = 0; j < sizeof(targets) / sizeof(targets[0]); ++j)
        attempt(dir, &targets[j]);
    cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &now);
  } while (now - start < seconds * 1000000000ull);
  for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); ++i) {
    struct target *t = &targets[i];
    put(t->path);
    put(" opened=");
    put_u64(t->opened);
    put(" refused=");
    put_u64(t->refused);
    put(" other=");
    put_u64(t->other);
    put(" last_other=");
    put_u64(t->last_other);
    put("\n");
  }
  cloudabi_sys_proc_exit(0);
}
