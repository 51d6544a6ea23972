/*
 * crt0: startup code of CloudABI programs built with this SDK.
 *
 * The runtime enters _start(auxv) as an ordinary C call (x86-64: auxv in
 * %rdi, %rsp+8 16-byte aligned) with the program mapped at its load
 * address but NOT relocated, no system call table, and a minimal
 * thread-pointer area in which %fs:0 points to a cloudabi_tcb_t. In that
 * order, _start:
 *
 *   1. reads the auxiliary vector and the program headers;
 *   2. applies its own R_X86_64_RELATIVE relocations (any other type is
 *      recorded and makes the program raise SIGABRT in step 4);
 *   3. fills the system call table with ENOSYS fallbacks and links the
 *      cloudabi_sys_* symbols exported by the vDSO;
 *   4. makes the pages of PT_GNU_RELRO read-only (errors ignored);
 *   5. copies AT_CANARY into __stack_chk_guard;
 *   6. maps one anonymous region holding a guard page, the unsafe stack
 *      used by SafeStack, and the initial thread's TLS block + TCB; copies
 *      the PT_TLS image, zeroes .tbss, copies the runtime's TCB over and
 *      stores the new thread pointer in %fs:0 (the FS base itself is
 *      never changed);
 *   7. points __safestack_unsafe_stack_ptr at the unsafe stack;
 *   8. runs .preinit_array and .init_array constructors;
 *   9. calls program_main() and exits with status 0 if it returns.
 *
 * This file is compiled with -fno-sanitize=safe-stack,
 * -fno-stack-protector and -fno-jump-tables: until step 7 nothing here may
 * touch thread-local storage, and until step 2 nothing may load a pointer
 * stored in the program's data (only %rip-relative addresses are valid).
 */
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "tls.h"

#if !defined(__x86_64__)
#error "The SDK's startup code supports x86-64 only."
#endif

/* ---- ELF definitions (the subset used here) ---- */

typedef struct {
  unsigned char e_ident[16];
  uint16_t e_type;
  uint16_t e_machine;
  uint32_t e_version;
  uint64_t e_entry;
  uint64_t e_phoff;
  uint64_t e_shoff;
  uint32_t e_flags;
  uint16_t e_ehsize;
  uint16_t e_phentsize;
  uint16_t e_phnum;
  uint16_t e_shentsize;
  uint16_t e_shnum;
  uint16_t e_shstrndx;
} elf_ehdr_t;

typedef struct {
  uint32_t p_type;
  uint32_t p_flags;
  uint64_t p_offset;
  uint64_t p_vaddr;
  uint64_t p_paddr;
  uint64_t p_filesz;
  uint64_t p_memsz;
  uint64_t p_align;
} elf_phdr_t;

typedef struct {
  int64_t d_tag;
  uint64_t d_val;
} elf_dyn_t;

typedef struct {
  uint64_t r_offset;
  uint64_t r_info;
  int64_t r_addend;
} elf_rela_t;

typedef struct {
  uint32_t st_name;
  unsigned char st_info;
  unsigned char st_other;
  uint16_t st_shndx;
  uint64_t st_value;
  uint64_t st_size;
} elf_sym_t;

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_TLS 7
#define PT_GNU_RELRO 0x6474e552

#define DT_NULL 0
#define DT_PLTRELSZ 2
#define DT_HASH 4
#define DT_STRTAB 5
#define DT_SYMTAB 6
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELAENT 9
#define DT_STRSZ 10
#define DT_SYMENT 11
#define DT_REL 17
#define DT_RELSZ 18
#define DT_JMPREL 23
#define DT_RELRSZ 35
#define DT_RELR 36

#define STB_GLOBAL 1
#define STT_FUNC 2
#define STV_DEFAULT 0

#define R_X86_64_RELATIVE 8

/* ---- Definitions provided to the rest of the program ---- */

/* The system call table used by the wrappers in <cloudabi_syscalls.h>. */
struct cloudabi_vdso cloudabi_vdso;

_Static_assert(sizeof(struct cloudabi_vdso) ==
                   CLOUDABI_SYSCALL_COUNT * sizeof(void *),
               "struct cloudabi_vdso must hold one pointer per system call");

/* Stack protector guard (clang's CloudABI target reads this global, not
 * %fs:0x28, when -fstack-protector is used). Overwritten from AT_CANARY. */
unsigned long __stack_chk_guard = 0x5bd1e995deadc0deUL;

/* SafeStack: the unsafe stack pointer of the current thread. */
__thread void *__safestack_unsafe_stack_ptr;

/* For C++ static destructors (unused: only static linking). */
void *__dso_handle;

uint32_t sdk_pagesz = 4096;
uint32_t sdk_ncpus = 1;
cloudabi_tid_t sdk_tid = 1;
const uint8_t *sdk_pid;
void *sdk_base;

/* Symbols defined by the linker (hidden, so they are %rip-relative). */
#define HIDDEN __attribute__((visibility("hidden")))
extern const elf_ehdr_t __ehdr_start HIDDEN;
extern void (*const __preinit_array_start[])(void) HIDDEN;
extern void (*const __preinit_array_end[])(void) HIDDEN;
extern void (*const __init_array_start[])(void) HIDDEN;
extern void (*const __init_array_end[])(void) HIDDEN;

/* Size of the initial thread's unsafe stack (SafeStack). */
#define UNSAFE_STACK_SIZE (256 * 1024)

/* ---- System call table ---- */

static cloudabi_errno_t missing_syscall(void) { return CLOUDABI_ENOSYS; }

/* Stand-in for proc_exit / thread_exit when the vDSO lacks them: these
 * must not return, so crash deliberately (SIGILL). */
static void missing_noreturn_syscall(void) {
  for (;;)
    __builtin_trap();
}

static void set_syscall(size_t index, const void *fn) {
  memcpy((char *)&cloudabi_vdso + index * sizeof(void *), &fn, sizeof(fn));
}

static void init_syscall_table(void) {
  for (size_t i = 0; i < CLOUDABI_SYSCALL_COUNT; ++i)
    set_syscall(i, (const void *)missing_syscall);
  set_syscall(offsetof(struct cloudabi_vdso, proc_exit) / sizeof(void *),
              (const void *)missing_noreturn_syscall);
  set_syscall(offsetof(struct cloudabi_vdso, thread_exit) / sizeof(void *),
              (const void *)missing_noreturn_syscall);
}

static const char *const syscall_names[CLOUDABI_SYSCALL_COUNT] = {
    CLOUDABI_SYSCALL_NAMES};

/* Links every global function symbol cloudabi_sys_<name> of the vDSO
 * whose <name> is a known system call. Runs after relocation (it uses
 * syscall_names, a table of pointers). */
static void link_vdso(const elf_ehdr_t *ehdr) {
  const char *base = (const char *)ehdr;
  if (ehdr->e_ident[0] != 0x7f || ehdr->e_ident[1] != 'E' ||
      ehdr->e_ident[2] != 'L' || ehdr->e_ident[3] != 'F' ||
      ehdr->e_phentsize != sizeof(elf_phdr_t))
    return;
  const elf_phdr_t *phdr = (const elf_phdr_t *)(base + ehdr->e_phoff);
  const elf_dyn_t *dyn = NULL;
  for (size_t i = 0; i < ehdr->e_phnum; ++i) {
    if (phdr[i].p_type == PT_DYNAMIC) {
      dyn = (const elf_dyn_t *)(base + phdr[i].p_vaddr);
      break;
    }
  }
  if (dyn == NULL)
    return;

  const char *strtab = NULL;
  const elf_sym_t *symtab = NULL;
  size_t nsyms = 0, strsz = 0, syment = sizeof(elf_sym_t);
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    switch (dyn->d_tag) {
    case DT_HASH:
      /* nchain, the second word of the hash table, is the number of
       * symbols. */
      nsyms = ((const uint32_t *)(base + dyn->d_val))[1];
      break;
    case DT_STRTAB:
      strtab = base + dyn->d_val;
      break;
    case DT_SYMTAB:
      symtab = (const elf_sym_t *)(base + dyn->d_val);
      break;
    case DT_STRSZ:
      strsz = dyn->d_val;
      break;
    case DT_SYMENT:
      syment = dyn->d_val;
      break;
    }
  }
  if (strtab == NULL || symtab == NULL || syment != sizeof(elf_sym_t))
    return;

  static const char prefix[] = "cloudabi_sys_";
  const size_t prefix_len = sizeof(prefix) - 1;
  for (size_t i = 0; i < nsyms; ++i) {
    const elf_sym_t *sym = &symtab[i];
    if ((sym->st_info >> 4) != STB_GLOBAL || (sym->st_info & 0xf) != STT_FUNC ||
        (sym->st_other & 0x3) != STV_DEFAULT || sym->st_name == 0)
      continue;
    if (strsz != 0 && sym->st_name >= strsz)
      continue;
    const char *name = strtab + sym->st_name;
    if (strncmp(name, prefix, prefix_len) != 0)
      continue;
    for (size_t j = 0; j < CLOUDABI_SYSCALL_COUNT; ++j) {
      if (strcmp(name + prefix_len, syscall_names[j]) == 0) {
        set_syscall(j, base + sym->st_value);
        break;
      }
    }
  }
}

/* ---- Process termination helpers ---- */

static _Noreturn void abort_startup(void) {
  cloudabi_sys_proc_raise(CLOUDABI_SIGABRT);
  cloudabi_sys_proc_exit(127);
}

_Noreturn void __stack_chk_fail(void) { abort_startup(); }

/* ---- Thread-local storage ---- */

static inline cloudabi_tcb_t *tcb_get(void) {
  cloudabi_tcb_t *tcb;
  __asm__ volatile("movq %%fs:0, %0" : "=r"(tcb));
  return tcb;
}

static inline void tcb_set(cloudabi_tcb_t *tcb) {
  __asm__ volatile("movq %0, %%fs:0" : : "r"(tcb) : "memory");
}

/* Runs after the new thread pointer is in place. Kept out of line so
 * that the compiler computes the TLS address from the new %fs:0. */
__attribute__((noinline)) static void set_unsafe_stack(void *top) {
  __safestack_unsafe_stack_ptr = top;
}

__attribute__((noinline)) static void run_constructors(void) {
  for (void (*const *f)(void) = __preinit_array_start;
       f < __preinit_array_end; ++f)
    (*f)();
  for (void (*const *f)(void) = __init_array_start; f < __init_array_end;
       ++f)
    (*f)();
}

static inline uintptr_t round_up(uintptr_t v, uintptr_t align) {
  return (v + align - 1) & ~(align - 1);
}

static inline uintptr_t round_down(uintptr_t v, uintptr_t align) {
  return v & ~(align - 1);
}

static inline bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* ---- TLS layout, shared with threads.c (see tls.h) ---- */

const char *__sdk_tls_image;
size_t __sdk_tls_filesz;
size_t __sdk_tls_size;
size_t __sdk_tls_tp_align = 16;

size_t __sdk_tls_area_size(void) {
  return __sdk_tls_size + __sdk_tls_tp_align + sizeof(cloudabi_tcb_t) + 64;
}

cloudabi_tcb_t *__sdk_tls_init(char *area) {
  char *tp = (char *)round_up((uintptr_t)area + __sdk_tls_size,
                              __sdk_tls_tp_align);
  char *tls_block = tp - __sdk_tls_size;
  memcpy(tls_block, __sdk_tls_image, __sdk_tls_filesz);
  memset(tls_block + __sdk_tls_filesz, 0, __sdk_tls_size - __sdk_tls_filesz);
  return (cloudabi_tcb_t *)tp;
}

/* ---- Entry point ---- */

_Noreturn void _start(const cloudabi_auxv_t *auxv) {
  /* 1. Auxiliary vector. */
  const unsigned char *at_argdata = NULL;
  size_t at_argdatalen = 0;
  char *at_base = NULL;
  const unsigned char *at_canary = NULL;
  size_t at_canarylen = 0;
  uint32_t at_ncpus = 1;
  size_t at_pagesz = 4096;
  const elf_phdr_t *at_phdr = NULL;
  size_t at_phnum = 0;
  const uint8_t *at_pid = NULL;
  const elf_ehdr_t *at_sysinfo_ehdr = NULL;
  cloudabi_tid_t at_tid = 1;
  for (; auxv->a_type != CLOUDABI_AT_NULL; ++auxv) {
    switch (auxv->a_type) {
    case CLOUDABI_AT_ARGDATA:
      at_argdata = auxv->a_ptr;
      break;
    case CLOUDABI_AT_ARGDATALEN:
      at_argdatalen = auxv->a_val;
      break;
    case CLOUDABI_AT_BASE:
      at_base = auxv->a_ptr;
      break;
    case CLOUDABI_AT_CANARY:
      at_canary = auxv->a_ptr;
      break;
    case CLOUDABI_AT_CANARYLEN:
      at_canarylen = auxv->a_val;
      break;
    case CLOUDABI_AT_NCPUS:
      at_ncpus = (uint32_t)auxv->a_val;
      break;
    case CLOUDABI_AT_PAGESZ:
      at_pagesz = auxv->a_val;
      break;
    case CLOUDABI_AT_PHDR:
      at_phdr = auxv->a_ptr;
      break;
    case CLOUDABI_AT_PHNUM:
      at_phnum = auxv->a_val;
      break;
    case CLOUDABI_AT_PID:
      at_pid = auxv->a_ptr;
      break;
    case CLOUDABI_AT_SYSINFO_EHDR:
      at_sysinfo_ehdr = auxv->a_ptr;
      break;
    case CLOUDABI_AT_TID:
      at_tid = (cloudabi_tid_t)auxv->a_val;
      break;
    }
  }
  if (!is_pow2(at_pagesz))
    at_pagesz = 4096;
  /* The ELF header is at offset 0 of the image, so its %rip-relative
   * address is the load address; use it if AT_BASE / AT_PHDR are absent. */
  if (at_base == NULL)
    at_base = (char *)&__ehdr_start;
  if (at_phdr == NULL) {
    at_phdr = (const elf_phdr_t *)(at_base + __ehdr_start.e_phoff);
    at_phnum = __ehdr_start.e_phnum;
  }

  /* Program headers. */
  const elf_dyn_t *dyn = NULL;
  uint64_t relro_vaddr = 0, relro_memsz = 0;
  uint64_t tls_vaddr = 0, tls_filesz = 0, tls_memsz = 0, tls_align = 1;
  for (size_t i = 0; i < at_phnum; ++i) {
    const elf_phdr_t *ph = &at_phdr[i];
    switch (ph->p_type) {
    case PT_DYNAMIC:
      dyn = (const elf_dyn_t *)(at_base + ph->p_vaddr);
      break;
    case PT_GNU_RELRO:
      relro_vaddr = ph->p_vaddr;
      relro_memsz = ph->p_memsz;
      break;
    case PT_TLS:
      tls_vaddr = ph->p_vaddr;
      tls_filesz = ph->p_filesz;
      tls_memsz = ph->p_memsz;
      tls_align = ph->p_align;
      break;
    }
  }

  /* 2. Self-relocation. */
  const elf_rela_t *rela = NULL;
  size_t rela_size = 0, rela_ent = sizeof(elf_rela_t);
  bool unsupported = false;
  if (dyn != NULL) {
    for (; dyn->d_tag != DT_NULL; ++dyn) {
      switch (dyn->d_tag) {
      case DT_RELA:
        rela = (const elf_rela_t *)(at_base + dyn->d_val);
        break;
      case DT_RELASZ:
        rela_size = dyn->d_val;
        break;
      case DT_RELAENT:
        rela_ent = dyn->d_val;
        break;
      case DT_REL:
      case DT_RELR:
      case DT_JMPREL:
        unsupported = true; /* relocation formats this code does not apply */
        break;
      case DT_RELSZ:
      case DT_RELRSZ:
      case DT_PLTRELSZ:
        if (dyn->d_val != 0)
          unsupported = true;
        break;
      }
    }
  }
  if (rela_ent != sizeof(elf_rela_t)) {
    unsupported = true;
  } else if (rela != NULL) {
    for (size_t n = rela_size / sizeof(elf_rela_t); n > 0; --n, ++rela) {
      if ((uint32_t)rela->r_info == R_X86_64_RELATIVE)
        *(char **)(at_base + rela->r_offset) = at_base + rela->r_addend;
      else
        unsupported = true;
    }
  }
  /* Nothing above may be reordered past this point, nothing below before. */
  __asm__ volatile("" ::: "memory");

  /* 3. System call table. */
  init_syscall_table();
  if (at_sysinfo_ehdr != NULL)
    link_vdso(at_sysinfo_ehdr);
  if (unsupported)
    abort_startup();

  /* 4. RELRO. lld does not page-align the start of PT_GNU_RELRO but puts
   * each segment with other permissions on other pages, so the range is
   * widened to whole pages unless another PT_LOAD has bytes in the
   * widened part; then only the whole pages inside are protected. */
  if (relro_memsz != 0) {
    uintptr_t lo = (uintptr_t)at_base + relro_vaddr;
    uintptr_t hi = lo + relro_memsz;
    uintptr_t start = round_down(lo, at_pagesz);
    uintptr_t end = round_up(hi, at_pagesz);
    for (size_t i = 0; i < at_phnum; ++i) {
      const elf_phdr_t *ph = &at_phdr[i];
      if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
        continue;
      uintptr_t seg_lo = (uintptr_t)at_base + ph->p_vaddr;
      uintptr_t seg_hi = seg_lo + ph->p_memsz;
      if (seg_lo < lo && seg_hi > start)
        start = round_up(lo, at_pagesz);
      if (seg_hi > hi && seg_lo < end)
        end = round_down(hi, at_pagesz);
    }
    if (end > start)
      cloudabi_sys_mem_protect((void *)start, end - start, CLOUDABI_PROT_READ);
  }

  sdk_base = at_base;
  sdk_pagesz = (uint32_t)at_pagesz;
  sdk_ncpus = at_ncpus;
  sdk_pid = at_pid;
  sdk_tid = at_tid;

  /* 5. Stack protector guard. */
  if (at_canary != NULL && at_canarylen > 0) {
    if (at_canarylen > sizeof(__stack_chk_guard))
      at_canarylen = sizeof(__stack_chk_guard);
    memcpy(&__stack_chk_guard, at_canary, at_canarylen);
  }

  /* 6. Unsafe stack and TLS for the initial thread, in one mapping:
   *    [guard page][unsafe stack ...][TLS block][TCB][headroom]
   * x86-64 uses TLS variant II: the block ends at the thread pointer,
   * which points at the TCB; the block's size is p_memsz rounded up to
   * p_align, and the thread pointer is aligned to p_align. */
  if (!is_pow2(tls_align))
    tls_align = 1;
  if (tls_filesz > tls_memsz)
    tls_filesz = tls_memsz;
  __sdk_tls_image = at_base + tls_vaddr;
  __sdk_tls_filesz = tls_filesz;
  __sdk_tls_size = round_up(tls_memsz, tls_align);
  __sdk_tls_tp_align = tls_align > 16 ? tls_align : 16;
  size_t tls_region = round_up(__sdk_tls_area_size(), at_pagesz);
  size_t total = at_pagesz + UNSAFE_STACK_SIZE + tls_region;
  void *region;
  if (cloudabi_sys_mem_map(NULL, total,
                           CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                           CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                           CLOUDABI_MAP_ANON_FD, 0, &region) != 0)
    abort_startup();
  cloudabi_sys_mem_protect(region, at_pagesz, 0); /* guard; best effort */
  char *unsafe_top = (char *)region + at_pagesz + UNSAFE_STACK_SIZE;
  cloudabi_tcb_t *tcb = __sdk_tls_init(unsafe_top);
  cloudabi_tcb_t *old_tcb = tcb_get();
  if (old_tcb != NULL)
    *tcb = *old_tcb; /* keep the runtime's TCB contents */
  else
    tcb->parent = NULL;
  tcb_set(tcb);

  /* 7. SafeStack. */
  set_unsafe_stack(unsafe_top);

  /* 8. Constructors. */
  run_constructors();

  /* 9. program_main. Argdata starting with a byte >= 0x20 is taken as
   * NUL-separated strings (argv form) and shown as a sequence of
   * strings. */
  argdata_t ad;
  if (at_argdatalen > 0 && at_argdata != NULL && at_argdata[0] >= 0x20)
    sdk_argdata_init_argv(&ad, at_argdata, at_argdatalen);
  else
    sdk_argdata_init(&ad, at_argdata, at_argdatalen);
  program_main(&ad);
  cloudabi_sys_proc_exit(0);
}
