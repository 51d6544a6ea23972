/*
 * <cloudabi_sdk.h> - small freestanding helpers for CloudABI programs
 * built with this SDK: memory and string functions (the compiler emits
 * calls to memcpy/memset/memmove/memcmp by itself), output helpers and
 * an integer formatter, plus values the startup code read from the
 * auxiliary vector.
 */
#ifndef CLOUDABI_SDK_H
#define CLOUDABI_SDK_H

#include <stddef.h>
#include <stdint.h>

#include <cloudabi_syscalls.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory and string functions (standard semantics). */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Writes all `len` bytes of `buf` to `fd`, retrying short writes.
 * Returns 0 or the CloudABI errno of the failing fd_write (CLOUDABI_EIO
 * if fd_write reports that it wrote nothing). */
cloudabi_errno_t sdk_write_all(cloudabi_fd_t fd, const void *buf, size_t len);

/* sdk_write_all(fd, str, strlen(str)). No newline is added. */
cloudabi_errno_t sdk_puts(cloudabi_fd_t fd, const char *str);

/* Formats `v` in decimal into `buf` (at least 21 bytes: 20 digits and a
 * NUL). Returns the number of digits written (the NUL is not counted). */
size_t sdk_fmt_u64(char *buf, uint64_t v);
/* Same for signed values (at least 21 bytes). */
size_t sdk_fmt_i64(char *buf, int64_t v);
/* Lower-case hexadecimal without prefix (at least 17 bytes). */
size_t sdk_fmt_x64(char *buf, uint64_t v);

/* Values taken from the auxiliary vector at startup. */
extern uint32_t sdk_pagesz;     /* AT_PAGESZ (4096 if absent) */
extern uint32_t sdk_ncpus;      /* AT_NCPUS (1 if absent) */
extern cloudabi_tid_t sdk_tid;  /* AT_TID of the initial thread */
extern const uint8_t *sdk_pid;  /* AT_PID: 16-byte UUID, or NULL */
extern void *sdk_base;          /* AT_BASE: load address */

#ifdef __cplusplus
}
#endif

#endif
