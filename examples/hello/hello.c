/*
 * hello: writes "Hello, world\n" to every fd in the argdata, which is a
 * sequence of fds (see hello.yaml). Exits 1 if an element is not an fd
 * or a write fails.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

void program_main(const argdata_t *ad) {
  static const char message[] = "Hello, world\n";
  int status = 0;
  argdata_seq_iterator_t it;
  const argdata_t *element;
  argdata_seq_iterate(ad, &it);
  while (argdata_seq_get(&it, &element)) {
    int fd;
    if (argdata_get_fd(element, &fd) != 0 ||
        sdk_write_all((cloudabi_fd_t)fd, message, sizeof(message) - 1) != 0)
      status = 1;
    argdata_seq_next(&it);
  }
  if (it.error != 0)
    status = 1;
  cloudabi_sys_proc_exit(status);
}
