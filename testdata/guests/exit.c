/*
 * exit: exits with the status given in the argdata.
 *
 * Argdata: an int (e.g. `42`), or a map with key "code" (`code: 42`).
 * The status must be in 0..2^32-1. Exits with 125 when the argdata holds
 * no usable int.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

void program_main(const argdata_t *ad) {
  uint32_t code;
  argdata_t value;
  if (argdata_get_int(ad, &code) == 0)
    cloudabi_sys_proc_exit(code);
  if (sdk_argdata_map_lookup(ad, "code", &value) == 0 &&
      argdata_get_int(&value, &code) == 0)
    cloudabi_sys_proc_exit(code);
  cloudabi_sys_proc_exit(125);
}
