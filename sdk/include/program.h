/*
 * <program.h> - the entry point of a CloudABI program built with the SDK.
 *
 * The SDK's startup code (crt0) calls program_main() once the process is
 * fully set up (relocated, vDSO linked, TLS, unsafe stack, constructors).
 * `ad` is the argument data given by the launcher; it stays valid for the
 * life of the process. If program_main() returns, the process exits with
 * status 0. The name and signature match cloudlibc's <program.h>.
 */
#ifndef CLOUDABI_SDK_PROGRAM_H
#define CLOUDABI_SDK_PROGRAM_H

#include <argdata.h>

#ifdef __cplusplus
extern "C" {
#endif

void program_main(const argdata_t *ad);

#ifdef __cplusplus
}
#endif

#endif
