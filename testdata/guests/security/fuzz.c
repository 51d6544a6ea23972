/*
 * fuzz: makes the system calls a script describes, with arguments drawn
 * from a table of interesting values (valid buffers, wild pointers, the
 * runtime's own structures, huge lengths), for FuzzSyscalls and
 * TestRobustRandomCalls in security_test.go. The supervisor must survive
 * whatever the calls do; the program itself may crash, be stopped, block
 * or exit at any point.
 *
 * Argdata: a map {out: !fd 0, dir: !fd 1, null: !fd 2, script: BINARY,
 * trace: BOOL}. With trace, each call and its result are written to out
 * ("NR ARG0..ARG6" in hex, then "=ERRNO").
 * The script is a byte string. Each operation starts with one byte:
 *   0xfe       start a thread that runs the next 32 bytes as a script
 *   otherwise  system call number byte % 52 (49, 50, 51 stand for the
 *              numbers 49, 1000 and 0xffffffff, which have no handler),
 *              followed by one selector byte per argument (seven), each
 *              naming a value (see value()); some selectors take more
 *              bytes from the script.
 * proc_exit, proc_raise of a valid signal and thread_exit of the main
 * thread are made as thread_yield, and mem_map (fixed), mem_protect and
 * mem_unmap of addresses in guest memory act on the scratch buffer, so
 * that a script mostly runs to its end (hostile.c attacks the rest); and file_allocate's offset and length
 * are taken modulo 1 MiB, so that a script cannot fill the disk. At the end the program writes
 * "done N\n" (N: calls made) and exits 0.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>
#include <program.h>

static cloudabi_fd_t out, dir, null_fd;
static unsigned char *scratch; /* 64 KiB, read/write */
static const char *const paths[] = {"a", "sub", "sub/../a", "../x", "/etc/passwd", "", "a/b/c/d", "."};

struct script {
  const unsigned char *p;
  size_t len, pos;
};

static uint64_t byte(struct script *s) { return s->pos < s->len ? s->p[s->pos++] : 0; }

static uint64_t bytes(struct script *s, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= byte(s) << (8 * i);
  return v;
}

static unsigned char *mailbox(void) {
  uint64_t mb;
  __asm__ volatile("mov %%fs:0x40, %0" : "=r"(mb));
  return (unsigned char *)mb;
}

static uint64_t value(struct script *s) {
  uint64_t b = byte(s);
  /* The runtime's structures are rare picks: writes into them end most
   * scripts at once (hostile.c attacks them on purpose). */
  if (b == 0xff)
    return (uint64_t)mailbox();
  if (b == 0xfe)
    return *(volatile uint64_t *)(mailbox() + 144);
  uint64_t sel = b % 40;
  uint64_t shared = *(volatile uint64_t *)(mailbox() + 144);
  uint64_t base = shared & ~((1ULL << 30) - 1);
  switch (sel) {
  case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
    return sel;
  case 8: return bytes(s, 8);
  case 9: return bytes(s, 1);
  case 10: return bytes(s, 2);
  case 11: return ~0ULL;
  case 12: return 1ULL << 63;
  case 13: return 0x7fffffff;
  case 14: return 0xffffffff;
  case 15: return 4096;
  case 16: return (uint64_t)scratch + byte(s) * 16;
  case 17: return (uint64_t)scratch + 65536 - 8;
  case 18: return (uint64_t)scratch + 60000; /* an iovec array, see prepare() */
  case 19: return (uint64_t)paths[byte(s) % 8];
  case 20: return (uint64_t)scratch + 61000; /* a clock subscription */
  case 21: return base;                      /* the boot block */
  case 22: return base + 8192;               /* the vDSO */
  case 23: return (uint64_t)scratch + 4096;
  case 24: return (uint64_t)scratch + 8192 + byte(s);
  case 25: return (uint64_t)&value;          /* text */
  case 26: return 8;
  case 27: return base + (8ULL << 30);
  case 28: return byte(s) * 4096;
  case 29: return (uint64_t)scratch; /* page aligned */
  case 30: return dir;
  case 31: return out;
  case 32: return null_fd;
  case 33: return bytes(s, 1) << 56;
  case 34: return (uint64_t)scratch + 62000; /* a lock word, 0 */
  case 35: return 1000000; /* 1 ms */
  case 36: return 0x40000000; /* a lock's write-locked bit */
  case 37: return (uint64_t)scratch + 63000; /* a subscription on the lock word */
  case 38: return 64;
  default: return 16;
  }
}

static void prepare(void) {
  cloudabi_iovec_t *iov = (cloudabi_iovec_t *)(scratch + 60000);
  for (int i = 0; i < 4; i++) {
    iov[i].buf = scratch + i * 1024;
    iov[i].buf_len = 1024;
  }
  cloudabi_subscription_t *sub = (cloudabi_subscription_t *)(scratch + 61000);
  sub->type = CLOUDABI_EVENTTYPE_CLOCK;
  sub->clock.clock_id = CLOUDABI_CLOCK_MONOTONIC;
  sub->clock.timeout = 1000000;
  cloudabi_subscription_t *lk = (cloudabi_subscription_t *)(scratch + 63000);
  lk->type = CLOUDABI_EVENTTYPE_LOCK_WRLOCK;
  lk->lock.lock = (void *)(scratch + 62000);
  lk->lock.lock_scope = CLOUDABI_SCOPE_PRIVATE;
}

typedef cloudabi_errno_t fn7(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* Enters the vDSO's common routine with any number, as errors.c does: the
 * stub of clock_res_get is "mov $0, %eax" (5 bytes), then a jump. */
static cloudabi_errno_t call_number(uint32_t nr, uint64_t a0) {
  const char *stub = (const char *)cloudabi_vdso.clock_res_get;
  cloudabi_errno_t result;
  __asm__ volatile("call *%[stub]"
                   : "=a"(result), "+D"(a0)
                   : [stub] "r"(stub + 5), "a"(nr)
                   : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
  return result;
}

static _Atomic uint64_t calls;
static bool trace;

static void run(struct script *s);
static uint64_t value(struct script *s);

static __thread int worker;

static void thread_main(void *arg) {
  worker = 1;
  struct script sub = {.p = arg, .len = 32, .pos = 0};
  run(&sub);
}

static void run(struct script *s) {
  while (s->pos < s->len) {
    uint64_t op = byte(s);
    if (op == 0xfe) {
      sdk_thread_t t;
      const unsigned char *body = s->p + s->pos;
      if (s->len - s->pos >= 32)
        sdk_thread_create_sized(&t, thread_main, (void *)body, 65536, 65536);
      s->pos = s->pos + 32 < s->len ? s->pos + 32 : s->len;
      continue;
    }
    uint64_t nr = op % 52;
    uint64_t a[7];
    for (int i = 0; i < 7; i++)
      a[i] = value(s);
    calls++;
    if (nr == 49 || nr == 50 || nr == 51) {
      call_number(nr == 49 ? 49 : nr == 50 ? 1000 : 0xffffffff, a[0]);
      continue;
    }
    if (nr == 39) /* proc_exit */
      nr = 48;
    if (nr == 41 && a[0] != 0 && a[0] <= 0xff) /* proc_raise of a valid signal */
      nr = 48;
    if (nr == 47 && !worker) /* thread_exit of the main thread */
      nr = 48;
    if (nr == 33 || nr == 34 || nr == 36) {
      /* mem_map, mem_protect and mem_unmap stay out of the program's own
       * code, data and stack, and the runtime's structures (hostile.c
       * attacks those): an address inside the region that is not in the
       * scratch buffer becomes the scratch buffer's. */
      uint64_t shared = *(volatile uint64_t *)(mailbox() + 144);
      uint64_t base = shared & ~((1ULL << 30) - 1);
      uint64_t sc = (uint64_t)scratch;
      if (a[0] >= base && a[0] < base + (8ULL << 30) && (a[0] < sc || a[0] >= sc + 65536))
        a[0] = sc;
      if ((nr == 34 || nr == 36 || (a[3] & CLOUDABI_MAP_FIXED)) && a[0] == sc && a[1] > 65536)
        a[1] = 65536;
    }
    if (nr == 18) { /* file_allocate: keep the test's disk usage small */
      a[1] %= 1 << 20;
      a[2] %= 1 << 20;
    }
    if (trace) {
      char line[200], *q = line;
      q += sdk_fmt_u64(q, nr);
      for (int i = 0; i < 7; i++) {
        *q++ = ' ';
        q += sdk_fmt_x64(q, a[i]);
      }
      *q++ = '\n';
      sdk_write_all(out, line, q - line);
    }
    fn7 *f = (fn7 *)((void **)&cloudabi_vdso)[nr];
    cloudabi_errno_t e = f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    if (trace) {
      char line[32], *q = line;
      *q++ = '=';
      q += sdk_fmt_u64(q, e);
      *q++ = '\n';
      sdk_write_all(out, line, q - line);
    }
  }
}

void program_main(const argdata_t *ad) {
  argdata_t v;
  int fd;
  const void *script;
  size_t len;
  if (sdk_argdata_map_lookup(ad, "out", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  out = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "dir", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  dir = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "null", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  null_fd = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "script", &v) != 0 || argdata_get_binary(&v, &script, &len) != 0)
    cloudabi_sys_proc_exit(2);
  if (sdk_argdata_map_lookup(ad, "trace", &v) == 0)
    argdata_get_bool(&v, &trace);
  void *m;
  if (cloudabi_sys_mem_map(0, 65536, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                           CLOUDABI_MAP_ANON_FD, 0, &m) != 0)
    cloudabi_sys_proc_exit(3);
  scratch = m;
  prepare();
  struct script s = {.p = script, .len = len, .pos = 0};
  run(&s);
  char num[24];
  sdk_puts(out, "done ");
  num[sdk_fmt_u64(num, calls)] = '\0';
  sdk_puts(out, num);
  sdk_puts(out, "\n");
  cloudabi_sys_proc_exit(0);
}
