/*
 * crash: stores through an invalid pointer, which must end the process
 * with SIGSEGV. Argdata is ignored. Exits with 1 if it survives the store.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

void program_main(const argdata_t *ad) {
  (void)ad;
  volatile int *bad = (volatile int *)(uintptr_t)16;
  *bad = 1;
  cloudabi_sys_proc_exit(1);
}
