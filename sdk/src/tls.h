/*
 * TLS layout shared by crt0.c (the initial thread) and threads.c (threads
 * created with sdk_thread_create). Private to the SDK.
 *
 * x86-64 uses TLS variant II: the thread's TLS block ends at the thread
 * pointer, which points at its cloudabi_tcb_t. _start records the PT_TLS
 * image and the layout here before it sets up the initial thread.
 */
#ifndef SDK_TLS_H
#define SDK_TLS_H

#include <stddef.h>

#include <cloudabi_types.h>

extern const char *__sdk_tls_image; /* the .tdata image (PT_TLS) */
extern size_t __sdk_tls_filesz;     /* bytes of .tdata to copy */
extern size_t __sdk_tls_size;       /* p_memsz rounded up to p_align */
extern size_t __sdk_tls_tp_align;   /* alignment of the thread pointer */

/* Bytes a TLS area (TLS block, TCB, alignment slack) needs. */
size_t __sdk_tls_area_size(void);

/* Lays out a TLS block at the start of `area` (__sdk_tls_area_size()
 * bytes): copies .tdata, zeroes .tbss and returns the thread pointer (the
 * TCB, just after the block). Uses no TLS and no unsafe stack. */
cloudabi_tcb_t *__sdk_tls_init(char *area);

/* SafeStack's unsafe stack pointer of the current thread (crt0.c). */
extern __thread void *__safestack_unsafe_stack_ptr;

#endif
