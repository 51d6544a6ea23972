/*
 * rights: reports what each descriptor it was given may do.
 *
 * Argdata: a map {out: fd, fds: [fd, ...]}. For each fd of `fds`, in order,
 * it writes one line "filetype flags base inheriting" to `out`: the
 * fdstat of the descriptor (fd_stat_get), in decimal (filetype, flags) and
 * hexadecimal (the two rights sets), or "error N". Exit status: 0, or 2 on
 * bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "escape.h"

static void put_x64(uint64_t v) {
  char num[24];
  num[sdk_fmt_x64(num, v)] = '\0';
  put(num);
}

void program_main(const argdata_t *ad) {
  argdata_t fds;
  if (get_fd(ad, "out", &out) != 0 || sdk_argdata_map_lookup(ad, "fds", &fds) != 0)
    cloudabi_sys_proc_exit(2);
  argdata_seq_iterator_t it;
  const argdata_t *elem;
  argdata_seq_iterate(&fds, &it);
  while (argdata_seq_get(&it, &elem)) {
    int fd;
    cloudabi_fdstat_t st;
    cloudabi_errno_t error;
    if (argdata_get_fd(elem, &fd) != 0)
      cloudabi_sys_proc_exit(2);
    error = cloudabi_sys_fd_stat_get((cloudabi_fd_t)fd, &st);
    if (error != 0) {
      put("error ");
      put_u64(error);
    } else {
      put_u64(st.fs_filetype);
      put(" ");
      put_u64(st.fs_flags);
      put(" ");
      put_x64(st.fs_rights_base);
      put(" ");
      put_x64(st.fs_rights_inheriting);
    }
    put("\n");
    argdata_seq_next(&it);
  }
  cloudabi_sys_proc_exit(it.error != 0 ? 2 : 0);
}
