/*
 * check.h: reporting for the test guests. Each check prints one line to
 * `out`, "ok <name>" or "FAIL <name> (got X, want Y)", and failures counts
 * the failed ones; guests exit with that count, and the Go tests fail on
 * any FAIL line.
 */
#ifndef GUESTS_CHECK_H
#define GUESTS_CHECK_H

#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <stdint.h>

static cloudabi_fd_t out;
static unsigned int failures;

static void report_num(uint64_t v) {
  char num[24];
  num[sdk_fmt_u64(num, v)] = '\0';
  sdk_puts(out, num);
}

static void expect_u64(const char *name, uint64_t got, uint64_t want) {
  if (got == want) {
    sdk_puts(out, "ok ");
    sdk_puts(out, name);
    sdk_puts(out, "\n");
    return;
  }
  ++failures;
  sdk_puts(out, "FAIL ");
  sdk_puts(out, name);
  sdk_puts(out, " (got ");
  report_num(got);
  sdk_puts(out, ", want ");
  report_num(want);
  sdk_puts(out, ")\n");
}

/*
 * without returns a duplicate of fd lacking the given base and inheriting
 * rights (the original keeps them), or aborts the program.
 */
__attribute__((unused)) static cloudabi_fd_t without(cloudabi_fd_t fd, cloudabi_rights_t base,
                                                    cloudabi_rights_t inheriting) {
  cloudabi_fd_t dup;
  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_dup(fd, &dup) != 0 || cloudabi_sys_fd_stat_get(dup, &st) != 0) {
    sdk_puts(out, "FAIL without: fd_dup or fd_stat_get\n");
    cloudabi_sys_proc_exit(126);
  }
  st.fs_rights_base &= ~base;
  st.fs_rights_inheriting &= ~inheriting;
  if (cloudabi_sys_fd_stat_put(dup, &st, CLOUDABI_FDSTAT_RIGHTS) != 0) {
    sdk_puts(out, "FAIL without: fd_stat_put\n");
    cloudabi_sys_proc_exit(126);
  }
  return dup;
}

#endif
