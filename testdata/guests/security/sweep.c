/*
 * sweep: issues one Linux system call directly, bypassing the vDSO, for
 * the raw system call sweep in security_test.go. A correct sandbox stops
 * the process before any call outside its allowlist returns. If control
 * comes back, the program writes "RETURNED <nr> <result>\n" to `out` and
 * exits 0, so the test can tell an allowed call from an escape.
 *
 * Argdata: a map {out: !fd N, mode: STR, nr: INT, a0..a5: ARG}.
 * Each ARG is an integer, used as it is, or one of the strings
 *   "scratch"  the address of a zeroed, page-aligned 64 KiB buffer
 *   "word"     the address of a 32-bit word holding 0 (a futex word)
 *   "path"     the address of "/etc/passwd"
 *   "fsbase"   the thread's current FS base (its mailbox address, at
 *              %fs:0x40, less 0x100)
 * Absent arguments are 0. Modes:
 *   syscall     (default) syscall(nr, a0..a5) with the `syscall` instruction
 *   int80       the 32-bit entry: int $0x80 with eax = nr, ebx = a0, ...
 *   sysenter    the sysenter instruction with eax = nr
 *   vsyscall    calls the legacy vsyscall page's gettimeofday(NULL, NULL)
 *   rwx_open    makes the scratch buffer read/write/execute with a raw
 *               mprotect, copies code there that makes a raw open of
 *               /etc/passwd, and runs it
 *   stub_open   the same in the page at address a0 (the sandbox stub's own
 *               code, outside guest memory): reports the raw mprotect's
 *               result as "MPROTECT <result>", then runs the code
 *   compat32    makes the page at a0 (below 4 GiB) writable and executable,
 *               copies 32-bit code there that makes the i386 open call with
 *               int $0x80, and far-returns into it in compatibility mode
 *   boot_block  makes the boot block (the first 8 KiB of guest memory,
 *               which the stub made inaccessible) readable with a raw
 *               mprotect, reports "BOOT <mprotect result> <first word>",
 *               then makes a raw open
 *   memlimit    makes a0 bytes at 4 GiB into guest memory (never mapped
 *               with mem_map) read/write with a raw mprotect, writes to
 *               every page and reads it back; reports "TOUCHED <bytes>"
 * Exit status: 0 after the call returned, 2 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

static long raw6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static _Alignas(4096) unsigned char scratch[65536];
static _Alignas(4) unsigned int word;
static const char path[] = "/etc/passwd";
static cloudabi_fd_t out;

/* xor %esi,%esi; mov $2,%eax; syscall; ret -- open(rdi, 0) */
static const unsigned char open_code[] = {0x31, 0xf6, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3};
/* 32-bit: mov $path,%ebx is patched in; xor %ecx,%ecx; mov $5,%eax; int $0x80; ud2 */
static unsigned char compat_code[] = {0xbb, 0, 0, 0, 0, 0x31, 0xc9, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x0f, 0x0b};

static void report(const char *what, long nr, long result) {
  char num[24];
  sdk_puts(out, what);
  sdk_puts(out, " ");
  num[sdk_fmt_i64(num, nr)] = '\0';
  sdk_puts(out, num);
  sdk_puts(out, " ");
  num[sdk_fmt_i64(num, result)] = '\0';
  sdk_puts(out, num);
  sdk_puts(out, "\n");
}

static long arg(const argdata_t *ad, const char *key) {
  argdata_t v;
  if (sdk_argdata_map_lookup(ad, key, &v) != 0)
    return 0;
  const char *s;
  if (argdata_get_str_c(&v, &s) == 0) {
    if (strcmp(s, "scratch") == 0)
      return (long)scratch;
    if (strcmp(s, "word") == 0)
      return (long)&word;
    if (strcmp(s, "path") == 0)
      return (long)path;
    if (strcmp(s, "fsbase") == 0) {
      uint64_t mailbox;
      __asm__ volatile("mov %%fs:0x40, %0" : "=r"(mailbox));
      return (long)(mailbox - 0x100);
    }
    cloudabi_sys_proc_exit(2);
  }
  uint64_t u;
  int64_t i;
  if (argdata_get_int(&v, &u) == 0)
    return (long)u;
  if (argdata_get_int(&v, &i) == 0)
    return (long)i;
  cloudabi_sys_proc_exit(2);
}

/* The guest region's base: the shared area's address (in the mailbox that
 * %fs:0x40 points to, at offset 144) rounded down to the region's 1 GiB
 * alignment. */
static uint64_t region_base(void) {
  uint64_t mailbox;
  __asm__ volatile("mov %%fs:0x40, %0" : "=r"(mailbox));
  uint64_t shared = *(volatile uint64_t *)(mailbox + 144);
  return shared & ~((1ULL << 30) - 1);
}

void program_main(const argdata_t *ad) {
  argdata_t v;
  int fd;
  const char *mode = "syscall";
  if (sdk_argdata_map_lookup(ad, "out", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  out = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "mode", &v) == 0 && argdata_get_str_c(&v, &mode) != 0)
    cloudabi_sys_proc_exit(2);
  long nr = arg(ad, "nr");
  long a0 = arg(ad, "a0"), a1 = arg(ad, "a1"), a2 = arg(ad, "a2");
  long a3 = arg(ad, "a3"), a4 = arg(ad, "a4"), a5 = arg(ad, "a5");
  long r;

  if (strcmp(mode, "syscall") == 0) {
    r = raw6(nr, a0, a1, a2, a3, a4, a5);
  } else if (strcmp(mode, "int80") == 0) {
    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(nr), "b"(a0), "c"(a1), "d"(a2)
                     : "memory");
  } else if (strcmp(mode, "sysenter") == 0) {
    __asm__ volatile("sysenter" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
  } else if (strcmp(mode, "vsyscall") == 0) {
    long (*gettimeofday)(void *, void *) = (long (*)(void *, void *))0xffffffffff600000UL;
    r = gettimeofday(0, 0);
  } else if (strcmp(mode, "rwx_open") == 0) {
    r = raw6(10, (long)scratch, 4096, 7, 0, 0, 0);
    report("MPROTECT", 10, r);
    memcpy(scratch, open_code, sizeof(open_code));
    nr = 2;
    r = ((long (*)(const char *))(void *)scratch)(path);
  } else if (strcmp(mode, "stub_open") == 0) {
    r = raw6(10, a0, 4096, 7, 0, 0, 0);
    report("MPROTECT", 10, r);
    if (r != 0)
      cloudabi_sys_proc_exit(3);
    memcpy((void *)a0, open_code, sizeof(open_code));
    nr = 2;
    r = ((long (*)(const char *))(void *)a0)(path);
  } else if (strcmp(mode, "compat32") == 0) {
    r = raw6(10, a0, 4096, 7, 0, 0, 0);
    report("MPROTECT", 10, r);
    if (r != 0 || (uint64_t)a0 >= (1ULL << 32) - 4096)
      cloudabi_sys_proc_exit(3);
    /* The path must be addressable with 32 bits too: copy it next to the
     * code. */
    memcpy((char *)a0 + 64, path, sizeof(path));
    uint32_t p32 = (uint32_t)(a0 + 64);
    memcpy(compat_code + 1, &p32, 4);
    memcpy((void *)a0, compat_code, sizeof(compat_code));
    nr = 5;
    __asm__ volatile("pushq $0x23\n\t"
                     "pushq %0\n\t"
                     "lretq"
                     :
                     : "r"(a0)
                     : "memory");
    r = -1;
  } else if (strcmp(mode, "boot_block") == 0) {
    uint64_t base = region_base();
    r = raw6(10, (long)base, 8192, 1, 0, 0, 0);
    char num[24];
    sdk_puts(out, "BOOT ");
    num[sdk_fmt_i64(num, r)] = '\0';
    sdk_puts(out, num);
    sdk_puts(out, " ");
    num[sdk_fmt_x64(num, r == 0 ? *(volatile uint64_t *)base : 0)] = '\0';
    sdk_puts(out, num);
    sdk_puts(out, "\n");
    nr = 2;
    r = raw6(2, (long)path, 0, 0, 0, 0, 0);
  } else if (strcmp(mode, "memlimit") == 0) {
    uint64_t at = region_base() + (4ULL << 30);
    uint64_t len = (uint64_t)a0;
    r = raw6(10, (long)at, (long)len, 3, 0, 0, 0);
    report("MPROTECT", 10, r);
    if (r != 0)
      cloudabi_sys_proc_exit(3);
    for (uint64_t off = 0; off < len; off += 4096)
      *(volatile uint64_t *)(at + off) = off + 1;
    uint64_t ok = 0;
    for (uint64_t off = 0; off < len; off += 4096)
      ok += *(volatile uint64_t *)(at + off) == off + 1 ? 4096 : 0;
    char num[24];
    sdk_puts(out, "TOUCHED ");
    num[sdk_fmt_u64(num, ok)] = '\0';
    sdk_puts(out, num);
    sdk_puts(out, "\n");
    cloudabi_sys_proc_exit(0);
  } else {
    cloudabi_sys_proc_exit(2);
  }
  report("RETURNED", nr, r);
  cloudabi_sys_proc_exit(0);
}
