/*
 * hostile: attacks the supervisor through the transport, the runtime's
 * structures in guest memory and system call arguments, for
 * TestRobustHostileGuests in security_test.go. Every mode that survives
 * its attack writes "done\n" to `out` and exits 0; modes that break the
 * program's own transport may crash or hang, which the test expects.
 *
 * Argdata: a map {out: !fd 0, in: !fd 1, mode: STR, ms: INT}. `in` is a
 * pipe (unmap_during_call) or /dev/null. Modes:
 *   hello                 writes "done"
 *   mailbox_garbage       fills the thread's mailbox with garbage before
 *                         each of many calls (keeping only the slot and
 *                         shared-area fields the vDSO needs)
 *   shared_garbage        fills the shared area (doorbell, pending bitmap)
 *                         with garbage before each of many calls
 *   fake_requests         writes requests into the mailboxes of every
 *                         unused thread slot and sets every pending bit;
 *                         makes a call by hand, without the vDSO
 *   bad_slot              its mailbox names another slot: the call is
 *                         never served (the test kills the process)
 *   bad_shared            its mailbox points at a bad shared area: the
 *                         vDSO faults
 *   clear_dispatcher_waiting  clears the dispatcher's waiting flag
 *                         before each call: calls may hang
 *   wild                  calls with wild pointers, huge and overflowing
 *                         lengths and counts, overlapping buffers; prints
 *                         "FAIL <what> <got> <want>" for a wrong errno
 *   scribble_runtime      system calls that write into the runtime's
 *                         structures: the mailbox, the shared area, the
 *                         other slots' thread areas
 *   unmap_during_call     a thread reads from `in` into a buffer that the
 *                         main thread unmaps meanwhile
 *   doorbell              rings the doorbell with every pending bit set
 *                         for `ms` milliseconds while a thread makes calls;
 *                         prints "calls N"
 *   vdso_scribble         fills the vDSO with int3 and calls it
 *   vdso_unmap            tries to mem_unmap the vDSO (the runtime
 *                         refuses), prints "unmap E" and makes a call
 *   vdso_syscall          patches clock_res_get in the vDSO into a raw
 *                         getpid and calls it
 *   map_over_runtime      tries mem_map, mem_protect and mem_unmap over
 *                         the shared area and the thread areas (the
 *                         runtime refuses them), prints "map E",
 *                         "protect E", "unmap E" and makes a call
 *   thread_crash          16 threads make calls; one stores to address 8
 *   thread_forbidden      16 threads make calls; one makes a raw getpid
 *   fdhog                 creates socket pairs until that fails, prints
 *                         "fds N" and "errno E", then waits for `in` to
 *                         be closed
 *   spin                  loops forever without a call
 *   block_many            64 threads block in poll and on a lock; prints
 *                         "blocked" and waits forever
 *   thread_bomb           thread_create until it fails; prints "threads N"
 *                         and "errno E"
 *   clone_bomb            the same with raw clones the supervisor never
 *                         sees
 *   clone_then_create     raw clones up to the host's limit, ten
 *                         thread_creates (which fail), then, with the raw
 *                         threads gone, thread_bomb; prints
 *                         "failed_creates N" first
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>
#include <program.h>
#include <stdatomic.h>

#define MB_STATE 0
#define MB_GUEST_WAITING 4
#define MB_NR 8
#define MB_ARGS 16
#define MB_RESULT 72
#define MB_SLOT 136
#define MB_SHARED 144
#define SHARED_DOORBELL 0
#define SHARED_WAITING 4
#define SHARED_PENDING 64
#define SHARED_SIZE (64 + 4096 / 8)
#define THREAD_AREA 8192
#define MAX_SLOTS 4096

static cloudabi_fd_t out, in;
static const char *mode;
static uint64_t ms;
static unsigned failures;

static void put(const char *s) { sdk_puts(out, s); }

static void put_u(const char *name, uint64_t v) {
  char num[24];
  put(name);
  put(" ");
  num[sdk_fmt_u64(num, v)] = '\0';
  put(num);
  put("\n");
}

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

/* A thread bomb that bypasses thread_create: raw clones with the one set of
 * flags the filter allows, each thread parked in FUTEX_WAIT without a stack
 * or thread area, until the host refuses. Reports how many it got and the
 * error that stopped it. */
#define THREAD_CLONE_FLAGS 0x3d0f00UL /* ThreadCloneFlags in seccomp.go */
static volatile uint32_t bomb_tids[8192];
static volatile int bomb_word;

static long raw_clone_parked(volatile uint32_t *tid) {
  register long r10 __asm__("r10") = (long)tid;
  register long r8 __asm__("r8") = 0;
  register long r9 __asm__("r9") = (long)&bomb_word;
  long ret;
  __asm__ volatile("syscall\n\t"
                   "test %%rax, %%rax\n\t"
                   "jnz 1f\n\t"
                   "2: mov $202, %%eax\n\t" /* futex(&bomb_word, FUTEX_WAIT, 0, NULL) */
                   "mov %%r9, %%rdi\n\t"
                   "xor %%esi, %%esi\n\t"
                   "xor %%edx, %%edx\n\t"
                   "xor %%r10d, %%r10d\n\t"
                   "syscall\n\t"
                   "cmpl $0, (%%r9)\n\t"
                   "je 2b\n\t"
                   "mov $60, %%eax\n\t" /* exit(0) once bomb_word is set */
                   "xor %%edi, %%edi\n\t"
                   "syscall\n\t"
                   "1:"
                   : "=a"(ret), "+r"(r10), "+r"(r8)
                   : "a"(56L), "D"(THREAD_CLONE_FLAGS), "S"(0L), "d"((long)tid), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static void clone_bomb(void) {
  uint64_t n = 0;
  long r = 0;
  while (n < sizeof(bomb_tids) / sizeof(bomb_tids[0])) {
    r = raw_clone_parked(&bomb_tids[n]);
    if (r < 0)
      break;
    n++;
  }
  put_u("threads", n);
  put_u("errno", (uint64_t)-r);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void fill_random(volatile unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)next_rand();
}

static unsigned char *mailbox(void) {
  uint64_t mb;
  __asm__ volatile("mov %%fs:0x40, %0" : "=r"(mb));
  return (unsigned char *)mb;
}

static unsigned char *shared_area(void) { return *(unsigned char *volatile *)(mailbox() + MB_SHARED); }
static uint64_t region_base(void) { return (uint64_t)shared_area() & ~((1ULL << 30) - 1); }
/* The thread areas start right after the shared area's page; slot 0 is the
 * main thread's, whose FS base is its second page. */
static unsigned char *thread_areas(void) { return mailbox() - 0x100 - 4096; }

static cloudabi_timestamp_t now(void) {
  cloudabi_timestamp_t ts = 0;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &ts);
  return ts;
}

static void sleep_ms(uint64_t n) {
  cloudabi_subscription_t sub = {.type = CLOUDABI_EVENTTYPE_CLOCK};
  sub.clock.clock_id = CLOUDABI_CLOCK_MONOTONIC;
  sub.clock.timeout = n * 1000000;
  cloudabi_event_t ev;
  size_t nev;
  cloudabi_sys_poll(&sub, &ev, 1, &nev);
}

static void expect(const char *what, cloudabi_errno_t got, cloudabi_errno_t want) {
  if (got == want)
    return;
  char num[24];
  failures++;
  put("FAIL ");
  put(what);
  put(" ");
  num[sdk_fmt_u64(num, got)] = '\0';
  put(num);
  put(" ");
  num[sdk_fmt_u64(num, want)] = '\0';
  put(num);
  put("\n");
}

/* A call that must still work after an attack. */
static void alive(const char *what) {
  cloudabi_timestamp_t ts = 0;
  cloudabi_errno_t e = cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &ts);
  if (e != 0 || ts == 0) {
    put("FAIL alive after ");
    put(what);
    put("\n");
    cloudabi_sys_proc_exit(1);
  }
}

static void mailbox_garbage(void) {
  unsigned char *mb = mailbox();
  for (int i = 0; i < 2000; i++) {
    unsigned char keep[16];
    memcpy(keep, mb + MB_SLOT, 16);
    fill_random(mb, 256);
    memcpy(mb + MB_SLOT, keep, 16);
    alive("mailbox garbage");
  }
  /* A stale request left in the mailbox, never rung: the next real call
   * overwrites it. */
  *(volatile uint64_t *)(mb + MB_NR) = 0xdeadbeef;
  *(volatile uint32_t *)(mb + MB_STATE) = 1;
  alive("stale request");
}

static void shared_garbage(void) {
  unsigned char *sh = shared_area();
  for (int i = 0; i < 2000; i++) {
    fill_random(sh, 4096);
    /* Leave the dispatcher's waiting flag set: clearing it while the
     * dispatcher sleeps would only make this program's own calls wait
     * (see clear_dispatcher_waiting). */
    *(volatile uint32_t *)(sh + SHARED_WAITING) = 1;
    alive("shared garbage");
  }
}

static void ring(unsigned char *sh) {
  __atomic_fetch_add((uint32_t *)(sh + SHARED_DOORBELL), 1, __ATOMIC_SEQ_CST);
  raw6(202, (long)(sh + SHARED_DOORBELL), 1, 1, 0, 0, 0); /* FUTEX_WAKE */
}

static void fake_requests(void) {
  unsigned char *areas = thread_areas(), *sh = shared_area();
  for (int slot = 1; slot < MAX_SLOTS; slot++) {
    unsigned char *mb = areas + (uint64_t)slot * THREAD_AREA + 4096 + 0x100;
    fill_random(mb, 136);
    *(volatile uint32_t *)(mb + MB_STATE) = 1;
    *(volatile uint64_t *)(mb + MB_NR) = next_rand() % 60;
  }
  memset(sh + SHARED_PENDING, 0xff, MAX_SLOTS / 8);
  ring(sh);
  alive("fake requests");

  /* A call made by hand: fd_write(out, &iov, 1, &n) through the
   * mailbox, without the vDSO. */
  static const char msg[] = "by hand\n";
  cloudabi_ciovec_t iov = {.buf = msg, .buf_len = sizeof(msg) - 1};
  size_t n = 0;
  unsigned char *mb = mailbox();
  volatile uint64_t *args = (volatile uint64_t *)(mb + MB_ARGS);
  *(volatile uint64_t *)(mb + MB_NR) = 16; /* fd_write */
  args[0] = out;
  args[1] = (uint64_t)&iov;
  args[2] = 1;
  args[3] = (uint64_t)&n;
  *(volatile uint64_t *)(mb + 80) = 0;
  __atomic_store_n((uint32_t *)(mb + MB_STATE), 1, __ATOMIC_SEQ_CST);
  uint32_t slot = *(uint32_t *)(mb + MB_SLOT);
  __atomic_fetch_or((uint64_t *)(sh + SHARED_PENDING) + slot / 64, 1ULL << (slot % 64), __ATOMIC_SEQ_CST);
  ring(sh);
  while (__atomic_load_n((uint32_t *)(mb + MB_STATE), __ATOMIC_SEQ_CST) == 1)
    __builtin_ia32_pause();
  expect("by_hand_result", *(volatile uint16_t *)(mb + MB_RESULT), 0);
  expect("by_hand_n", n == sizeof(msg) - 1 ? 0 : 1, 0);
  /* Every pending bit set again, with the main thread's mailbox idle. */
  memset(sh + SHARED_PENDING, 0xff, MAX_SLOTS / 8);
  ring(sh);
  alive("pending bits");
}

static void wild(void) {
  static char buf[4096];
  static const char text[] = "text";
  uint64_t base = region_base();
  const uint64_t wilds[] = {0, 8, 4095, 0x400000, base - 4096, base, base + 4096 /* boot block */,
                            base + (8ULL << 30) - 8, base + (8ULL << 30), 0x7fffffffffffULL,
                            0xffff800000000000ULL, ~0ULL - 7, 1ULL << 63};
  const uint64_t lens[] = {~0ULL, ~0ULL - 4095, 1ULL << 63, (1ULL << 62) + 1, 0x100000000ULL, 8ULL << 30};
  size_t n;
  char name[48];
  for (unsigned i = 0; i < sizeof(wilds) / sizeof(wilds[0]); i++) {
    void *p = (void *)wilds[i];
    cloudabi_ciovec_t c = {.buf = p, .buf_len = 4};
    cloudabi_iovec_t v = {.buf = p, .buf_len = 4};
    cloudabi_timestamp_t ts;
    expect("fd_write_wild_iov", cloudabi_sys_fd_write(out, &c, 1, &n), CLOUDABI_EFAULT);
    expect("fd_write_wild_array", cloudabi_sys_fd_write(out, p, 1, &n), CLOUDABI_EFAULT);
    expect("fd_write_wild_nwritten", cloudabi_sys_fd_write(out, &c, 0, p), CLOUDABI_EFAULT);
    expect("fd_read_wild_iov", cloudabi_sys_fd_read(in, &v, 1, &n), CLOUDABI_EFAULT);
    expect("clock_time_get_wild", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, p), CLOUDABI_EFAULT);
    expect("random_get_wild", cloudabi_sys_random_get(p, 16), CLOUDABI_EFAULT);
    expect("fd_stat_get_wild", cloudabi_sys_fd_stat_get(out, p), CLOUDABI_EFAULT);
    expect("file_stat_fget_wild", cloudabi_sys_file_stat_fget(out, p), CLOUDABI_EFAULT);
    cloudabi_lookup_t lk = {.fd = out};
    cloudabi_fd_t fd;
    cloudabi_errno_t e = cloudabi_sys_file_open(lk, p, 4, 0, 0, &fd);
    expect("file_open_wild_path", e == CLOUDABI_EFAULT || e == CLOUDABI_ENOTDIR || e == CLOUDABI_ENOTCAPABLE ? 0 : e, 0);
    expect("poll_wild_in", cloudabi_sys_poll(p, (cloudabi_event_t *)buf, 1, &n), CLOUDABI_EFAULT);
    expect("mem_sync_wild", cloudabi_sys_mem_sync((void *)(wilds[i] & ~4095ULL), 4096, CLOUDABI_MS_SYNC) == 0 ? 1 : 0, 0);
    e = cloudabi_sys_thread_create(p, (cloudabi_tid_t *)buf);
    expect("thread_create_wild_attr", e, CLOUDABI_EFAULT);
    e = cloudabi_sys_lock_unlock(p, CLOUDABI_SCOPE_PRIVATE);
    expect("lock_unlock_wild", e == CLOUDABI_EFAULT || e == CLOUDABI_EPERM || e == CLOUDABI_EINVAL ? 0 : e, 0);
    e = cloudabi_sys_condvar_signal(p, CLOUDABI_SCOPE_PRIVATE, 1);
    expect("condvar_signal_wild", e == CLOUDABI_EFAULT || e == CLOUDABI_EINVAL || e == 0 ? 0 : e, 0);
    (void)ts;
  }
  for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    cloudabi_ciovec_t c = {.buf = buf, .buf_len = lens[i]};
    cloudabi_iovec_t v = {.buf = buf, .buf_len = lens[i]};
    cloudabi_ciovec_t two[2] = {{.buf = buf, .buf_len = 1ULL << 63}, {.buf = buf, .buf_len = 1ULL << 63}};
    expect("fd_write_huge_len", cloudabi_sys_fd_write(out, &c, 1, &n), CLOUDABI_EFAULT);
    expect("fd_write_overflowing_sum", cloudabi_sys_fd_write(out, two, 2, &n), CLOUDABI_EFAULT);
    expect("fd_read_huge_len", cloudabi_sys_fd_read(in, &v, 1, &n), CLOUDABI_EFAULT);
    expect("fd_pwrite_huge_len", cloudabi_sys_fd_pwrite(out, &c, 1, 0, &n) == 0 ? 1 : 0, 0);
    expect("random_get_huge", cloudabi_sys_random_get(buf, lens[i]), CLOUDABI_EFAULT);
    expect("fd_write_huge_count", cloudabi_sys_fd_write(out, &c, lens[i], &n) == 0 ? 1 : 0, 0);
    expect("poll_huge_count", cloudabi_sys_poll((void *)buf, (void *)buf, lens[i], &n) == 0 ? 1 : 0, 0);
    cloudabi_lookup_t lk = {.fd = out};
    cloudabi_fd_t fd;
    expect("file_open_huge_path", cloudabi_sys_file_open(lk, buf, lens[i], 0, 0, &fd) == 0 ? 1 : 0, 0);
    void *m;
    if (cloudabi_sys_mem_map(0, lens[i], CLOUDABI_PROT_READ, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0, &m) == 0) {
      /* Up to 4 GiB fits in the 8 GiB address space. */
      expect("mem_map_huge", lens[i] <= (4ULL << 30) ? 0 : 1, 0);
      expect("mem_unmap_huge_mapping", cloudabi_sys_mem_unmap(m, lens[i]), 0);
    }
    expect("mem_protect_huge", cloudabi_sys_mem_protect((void *)((uint64_t)buf & ~4095ULL), lens[i], CLOUDABI_PROT_READ) == 0 ? 1 : 0, 0);
    /* Beyond the address space only: a smaller length would really unmap
     * this program's data. */
    if (lens[i] > (8ULL << 30))
      expect("mem_unmap_huge", cloudabi_sys_mem_unmap((void *)((uint64_t)buf & ~4095ULL), lens[i]) == 0 ? 1 : 0, 0);
    expect("mem_advise_huge", cloudabi_sys_mem_advise((void *)((uint64_t)buf & ~4095ULL), lens[i], CLOUDABI_ADVICE_NORMAL) == 0 ? 1 : 0, 0);
    expect("proc_exec_huge", cloudabi_sys_proc_exec(out, buf, lens[i], (void *)buf, lens[i]) == 0 ? 1 : 0, 0);
    expect("fd_seek_huge", cloudabi_sys_fd_seek(out, (cloudabi_filedelta_t)lens[i], CLOUDABI_WHENCE_SET, (void *)buf) == 0 && lens[i] > (1ULL << 62) ? 1 : 0, 0);
    expect("file_allocate_huge", cloudabi_sys_file_allocate(out, lens[i], lens[i]) == 0 ? 1 : 0, 0);
    cloudabi_sys_fd_pread(in, &v, 1, lens[i], &n);
  }
  (void)name;
  /* Overlapping and self-referential buffers. */
  static cloudabi_iovec_t iovs[1024];
  for (int i = 0; i < 1024; i++) {
    iovs[i].buf = buf;
    iovs[i].buf_len = sizeof(buf);
  }
  expect("fd_read_1024_same_buffer", cloudabi_sys_fd_read(in, iovs, 1024, &n), 0);
  expect("fd_read_1025_iovecs", cloudabi_sys_fd_read(in, iovs, 1025, &n), CLOUDABI_EINVAL);
  /* The iovec array inside the buffer it describes. */
  cloudabi_iovec_t *self = (cloudabi_iovec_t *)buf;
  self[0].buf = buf;
  self[0].buf_len = sizeof(buf);
  expect("random_get_over_iovec", cloudabi_sys_fd_read(in, self, 1, &n), 0);
  cloudabi_ciovec_t *cself = (cloudabi_ciovec_t *)buf;
  cself[0].buf = buf;
  cself[0].buf_len = 16;
  expect("fd_write_self", cloudabi_sys_fd_write(out, cself, 1, &n), 0);
  put("\n");
  /* The output pointer inside the input. */
  cloudabi_subscription_t *sub = (cloudabi_subscription_t *)buf;
  memset(buf, 0, sizeof(buf));
  sub->type = CLOUDABI_EVENTTYPE_CLOCK;
  sub->clock.clock_id = CLOUDABI_CLOCK_MONOTONIC;
  sub->clock.timeout = 1;
  expect("poll_out_over_in", cloudabi_sys_poll(sub, (cloudabi_event_t *)buf, 1, (size_t *)(buf + 8)), 0);
  /* Outputs into read-only memory: the program's own text and the vDSO. */
  expect("clock_time_get_into_text", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, (void *)text), CLOUDABI_EFAULT);
  expect("random_get_into_vdso", cloudabi_sys_random_get((void *)cloudabi_vdso.fd_write, 8), CLOUDABI_EFAULT);
  /* Every call number, with arguments all ones. */
  for (uint32_t nr = 0; nr < 49; nr++) {
    if (nr == 39 /* proc_exit */ || nr == 40 /* proc_fork */ || nr == 41 /* proc_raise */ || nr == 47 /* thread_exit */)
      continue;
    typedef cloudabi_errno_t fn7(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
    fn7 *f = (fn7 *)((void **)&cloudabi_vdso)[nr];
    f(~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL);
    f(base + 4096, ~0ULL, base + 4096, 1ULL << 63, ~0ULL, base + 4096, base + 4096);
  }
  alive("wild");
}

static void scribble_runtime(void) {
  unsigned char *mb = mailbox(), *sh = shared_area(), *areas = thread_areas();
  cloudabi_errno_t e;
  /* Random bytes over the pending bitmap (not the waiting flag). */
  expect("random_get_pending", cloudabi_sys_random_get(sh + SHARED_PENDING, MAX_SLOTS / 8), 0);
  alive("pending scribbled");
  /* Over the mailbox of the very call: its number and arguments. (Not
   * its state word: the vDSO would then stop waiting and run whatever
   * post-call system call the random bytes name.) */
  expect("random_get_own_mailbox", cloudabi_sys_random_get(mb + MB_NR, MB_RESULT - MB_NR), 0);
  cloudabi_timestamp_t *res = (cloudabi_timestamp_t *)(mb + MB_RESULT);
  e = cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, res);
  expect("clock_time_get_into_result", e, 0);
  e = cloudabi_sys_fd_stat_get(out, (cloudabi_fdstat_t *)(mb + MB_NR));
  expect("fd_stat_get_into_mailbox", e, 0);
  /* Over every other slot's thread area: their Linux thread id words
   * then look taken. */
  e = cloudabi_sys_random_get(areas + THREAD_AREA, (uint64_t)(MAX_SLOTS - 1) * THREAD_AREA);
  expect("random_get_thread_areas", e, 0);
  alive("thread areas scribbled");
  sdk_thread_t t;
  e = sdk_thread_create(&t, (void (*)(void *))0, 0);
  put_u("thread_create_after_scribble", e);
  if (e == 0)
    cloudabi_sys_proc_exit(4);
  /* Reads from /dev/null into the shared area: nothing to read. */
  cloudabi_iovec_t v = {.buf = sh, .buf_len = 4096};
  size_t n;
  expect("fd_read_into_shared", cloudabi_sys_fd_read(in, &v, 1, &n), 0);
  alive("scribble");
}

static char *unmap_buf;
static _Atomic uint64_t read_result, read_n;

static void reader(void *arg) {
  (void)arg;
  cloudabi_iovec_t v = {.buf = unmap_buf, .buf_len = 65536};
  size_t n = 0;
  read_result = cloudabi_sys_fd_read(in, &v, 1, &n);
  read_n = n;
}

static void unmap_during_call(void) {
  void *m;
  expect("mem_map", cloudabi_sys_mem_map(0, 65536, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                                         CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0, &m),
         0);
  unmap_buf = m;
  sdk_thread_t t;
  expect("thread_create", sdk_thread_create(&t, reader, 0), 0);
  sleep_ms(100); /* the reader now waits in fd_read */
  expect("mem_unmap_during_read", cloudabi_sys_mem_unmap(m, 65536), 0);
  expect("thread_join", sdk_thread_join(t), 0);
  put_u("read_errno", read_result);
  put_u("read_bytes", read_n);
  /* Fresh memory at the same place must be zero, whatever the late read
   * wrote. */
  void *again;
  expect("mem_map_again", cloudabi_sys_mem_map(m, 65536, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                                               CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                                               CLOUDABI_MAP_ANON_FD, 0, &again),
         0);
  uint64_t nonzero = 0;
  for (int i = 0; i < 65536; i++)
    nonzero += ((volatile char *)again)[i] != 0;
  expect("fresh_memory_zero", nonzero == 0 ? 0 : 1, 0);
}

static _Atomic int stop;
static _Atomic uint64_t calls;

static void caller(void *arg) {
  (void)arg;
  while (!stop) {
    cloudabi_timestamp_t ts;
    if (cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &ts) == 0)
      calls++;
  }
}

static void doorbell(void) {
  unsigned char *sh = shared_area();
  sdk_thread_t t;
  expect("thread_create", sdk_thread_create(&t, caller, 0), 0);
  cloudabi_timestamp_t end = now() + ms * 1000000;
  uint64_t rings = 0;
  while (now() < end) {
    for (int i = 0; i < 10000; i++) {
      memset(sh + SHARED_PENDING, 0xff, MAX_SLOTS / 8);
      ring(sh);
      rings++;
    }
  }
  stop = 1;
  expect("thread_join", sdk_thread_join(t), 0);
  put_u("rings", rings);
  put_u("calls", calls);
}

static unsigned char *vdso_page(void) { return (unsigned char *)((uint64_t)cloudabi_vdso.clock_res_get & ~4095ULL); }

static void vdso_scribble(void) {
  unsigned char *start = (unsigned char *)region_base() + 8192, *end = shared_area();
  long r = raw6(10, (long)start, end - start, 7, 0, 0, 0);
  if (r != 0)
    cloudabi_sys_proc_exit(5);
  memset(start, 0xcc, end - start);
  put("done\n"); /* never reached: the vDSO is int3 now */
}

static void vdso_unmap(void) {
  unsigned char *start = (unsigned char *)region_base() + 8192, *end = shared_area();
  put_u("unmap", cloudabi_sys_mem_unmap(start, end - start));
  alive("vdso unmap");
}

static void vdso_syscall(void) {
  unsigned char *page = vdso_page();
  if (raw6(10, (long)page, 4096, 7, 0, 0, 0) != 0)
    cloudabi_sys_proc_exit(5);
  /* mov $39,%eax; syscall; ret */
  static const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3};
  memcpy((void *)cloudabi_vdso.clock_res_get, code, sizeof(code));
  cloudabi_timestamp_t ts;
  cloudabi_sys_clock_res_get(CLOUDABI_CLOCK_MONOTONIC, &ts);
  put("RETURNED\n");
}

static void map_over_runtime(void) {
  unsigned char *sh = shared_area();
  void *m;
  /* The shared area and every thread area, the caller's own included. */
  cloudabi_errno_t e = cloudabi_sys_mem_map(sh, 4096 + (uint64_t)MAX_SLOTS * THREAD_AREA,
                                            CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                                            CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                                            CLOUDABI_MAP_ANON_FD, 0, &m);
  put_u("map", e);
  put_u("protect", cloudabi_sys_mem_protect(sh, 4096, CLOUDABI_PROT_READ));
  put_u("unmap", cloudabi_sys_mem_unmap(sh, 4096));
  alive("map over runtime");
  put("done\n");
}

static void busy_thread(void *arg) {
  uint64_t kind = (uint64_t)arg;
  if (kind == 0) {
    sleep_ms(20);
    if (strcmp(mode, "thread_crash") == 0)
      *(volatile int *)8 = 1;
    raw6(39, 0, 0, 0, 0, 0, 0); /* getpid */
  }
  if (kind % 2 == 1) {
    sleep_ms(1000000);
  }
  for (;;) {
    alive("busy");
    cloudabi_sys_thread_yield();
  }
}

static void threads_then_die(void) {
  sdk_thread_t t;
  for (uint64_t i = 1; i < 16; i++)
    expect("thread_create", sdk_thread_create_sized(&t, busy_thread, (void *)i, 16384, 16384), 0);
  expect("thread_create", sdk_thread_create_sized(&t, busy_thread, (void *)0, 16384, 16384), 0);
  for (;;)
    alive("main");
}

static sdk_mutex_t held = SDK_MUTEX_INITIALIZER;
static sdk_cond_t never = SDK_COND_INITIALIZER;

static void blocker(void *arg) {
  uint64_t kind = (uint64_t)arg % 3;
  if (kind == 0)
    sleep_ms(1000000000);
  else if (kind == 1)
    sdk_mutex_lock(&held);
  else {
    static sdk_mutex_t m = SDK_MUTEX_INITIALIZER;
    sdk_mutex_lock(&m);
    for (;;)
      sdk_cond_wait(&never, &m);
  }
}

static void block_many(void) {
  sdk_mutex_lock(&held);
  sdk_thread_t t;
  for (uint64_t i = 0; i < 64; i++)
    expect("thread_create", sdk_thread_create_sized(&t, blocker, (void *)i, 16384, 16384), 0);
  sleep_ms(50);
  put("blocked\n");
  sleep_ms(1000000000);
}

/* A thread bomb through thread_create: blocked threads until it fails. */
static void thread_bomb(void) {
  sdk_mutex_lock(&held);
  sdk_thread_t t;
  uint64_t n = 0;
  int e;
  while ((e = sdk_thread_create_sized(&t, blocker, (void *)n, 16384, 16384)) == 0)
    n++;
  put_u("threads", n);
  put_u("errno", (uint64_t)e);
}

/* Raw clones use up the host's limit; thread_create must then fail (the
 * vDSO's clone fails) without costing the process its thread slots: once
 * the raw threads are gone, as many threads as ever can be created. */
static void clone_then_create(void) {
  uint64_t n = 0;
  while (n < sizeof(bomb_tids) / sizeof(bomb_tids[0]) && raw_clone_parked(&bomb_tids[n]) >= 0)
    n++;
  sdk_thread_t t;
  uint64_t failed = 0;
  for (int i = 0; i < 10; i++)
    if (sdk_thread_create_sized(&t, blocker, (void *)0, 16384, 16384) != 0)
      failed++;
  put_u("failed_creates", failed);
  __atomic_store_n(&bomb_word, 1, __ATOMIC_SEQ_CST);
  raw6(202, (long)&bomb_word, 1 /* FUTEX_WAKE */, 1 << 30, 0, 0, 0);
  for (uint64_t i = 0; i < n; i++)
    while (__atomic_load_n(&bomb_tids[i], __ATOMIC_SEQ_CST) != 0)
      sleep_ms(1);
  thread_bomb();
}

void program_main(const argdata_t *ad) {
  argdata_t v;
  int fd;
  if (sdk_argdata_map_lookup(ad, "out", &v) != 0 || argdata_get_fd(&v, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  out = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "in", &v) == 0 && argdata_get_fd(&v, &fd) == 0)
    in = (cloudabi_fd_t)fd;
  else
    in = 1;
  if (sdk_argdata_map_lookup(ad, "mode", &v) != 0 || argdata_get_str_c(&v, &mode) != 0)
    cloudabi_sys_proc_exit(2);
  if (sdk_argdata_map_lookup(ad, "ms", &v) != 0 || argdata_get_int(&v, &ms) != 0)
    ms = 100;

  if (strcmp(mode, "hello") == 0) {
  } else if (strcmp(mode, "mailbox_garbage") == 0) {
    mailbox_garbage();
  } else if (strcmp(mode, "shared_garbage") == 0) {
    shared_garbage();
  } else if (strcmp(mode, "fake_requests") == 0) {
    fake_requests();
  } else if (strcmp(mode, "bad_slot") == 0) {
    *(volatile uint32_t *)(mailbox() + MB_SLOT) = 1;
    alive("bad slot");
  } else if (strcmp(mode, "bad_shared") == 0) {
    *(volatile uint64_t *)(mailbox() + MB_SHARED) = 16;
    alive("bad shared");
  } else if (strcmp(mode, "clear_dispatcher_waiting") == 0) {
    unsigned char *sh = shared_area();
    for (int i = 0; i < 5000; i++) {
      *(volatile uint32_t *)(sh + SHARED_WAITING) = 0;
      alive("waiting cleared");
    }
  } else if (strcmp(mode, "wild") == 0) {
    wild();
  } else if (strcmp(mode, "scribble_runtime") == 0) {
    scribble_runtime();
  } else if (strcmp(mode, "unmap_during_call") == 0) {
    unmap_during_call();
  } else if (strcmp(mode, "doorbell") == 0) {
    doorbell();
  } else if (strcmp(mode, "vdso_scribble") == 0) {
    vdso_scribble();
  } else if (strcmp(mode, "vdso_unmap") == 0) {
    vdso_unmap();
  } else if (strcmp(mode, "vdso_syscall") == 0) {
    vdso_syscall();
  } else if (strcmp(mode, "map_over_runtime") == 0) {
    map_over_runtime();
  } else if (strcmp(mode, "thread_crash") == 0 || strcmp(mode, "thread_forbidden") == 0) {
    threads_then_die();
  } else if (strcmp(mode, "fdhog") == 0) {
    uint64_t n = 0;
    cloudabi_errno_t e;
    cloudabi_fd_t a, b;
    while ((e = cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b)) == 0)
      n += 2;
    put_u("fds", n);
    put_u("errno", e);
    char c;
    cloudabi_iovec_t iov = {.buf = &c, .buf_len = 1};
    size_t got;
    cloudabi_sys_fd_read(in, &iov, 1, &got); /* until the test closes `in` */
  } else if (strcmp(mode, "thread_bomb") == 0) {
    thread_bomb();
  } else if (strcmp(mode, "clone_then_create") == 0) {
    clone_then_create();
  } else if (strcmp(mode, "clone_bomb") == 0) {
    clone_bomb();
  } else if (strcmp(mode, "spin") == 0) {
    for (;;)
      __asm__ volatile("" ::: "memory");
  } else if (strcmp(mode, "block_many") == 0) {
    block_many();
  } else {
    cloudabi_sys_proc_exit(2);
  }
  put("done\n");
  cloudabi_sys_proc_exit(failures);
}
