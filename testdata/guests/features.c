/*
 * features: exercises the runtime and the SDK's startup code, printing one
 * line "ok <check>" or "FAIL <check>" per check to `out`.
 *
 * Argdata: a map {out: !fd N} (a bare fd is accepted too).
 * Exit status: the number of failed checks, or 125 (with no output) when
 * the argdata holds no fd.
 *
 * Checks, in order:
 *   constructor      a static constructor ran before program_main and
 *                    could make a system call and use TLS
 *   clock_monotonic  CLOCK_MONOTONIC is non-zero and increases
 *   clock_realtime   CLOCK_REALTIME is after 2020-01-01
 *   clock_res_get    CLOCK_MONOTONIC resolution is in (0, 1s]
 *   cpu_clocks       the process and thread CPU-time clocks advance while
 *                    the main thread and a second thread compute, and a
 *                    thread's clock counts only its own time
 *   cpu_clocks_precise  both CPU-time clocks are read to the nanosecond,
 *                    not as the scheduler last accounted them: a
 *                    thread that has just started reads more than zero,
 *                    and each reading after a little work is larger than
 *                    the one before; the resolution is 1 ns
 *   random_get       two 32-byte random_get results differ
 *   fd_stat_get      fd_stat_get(out) succeeds and grants FD_WRITE
 *   mem_map          anonymous mapping: write/read two pages,
 *                    mem_protect to read-only, mem_unmap
 *   tls              initialised (.tdata), zeroed (.tbss) and 64-byte
 *                    aligned thread-locals
 *   safestack        an address-taken local array lives on the unsafe
 *                    stack and works
 *   auxv             AT_PID, AT_PAGESZ and AT_NCPUS were provided
 *   argdata          the argdata reader on built-in good and malformed
 *                    encodings
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_threads.h>
#include <program.h>

extern __thread void *__safestack_unsafe_stack_ptr;

static cloudabi_fd_t out;
static unsigned int failures;

static void report(const char *name, bool ok) {
  sdk_puts(out, ok ? "ok " : "FAIL ");
  sdk_puts(out, name);
  sdk_puts(out, "\n");
  if (!ok)
    ++failures;
}

/* ---- constructor ---- */

__thread int tls_initialised = 42;
__thread char tls_zeroed[100];
__thread _Alignas(64) int tls_aligned = 7;

static int constructor_state;

__attribute__((constructor)) static void constructor(void) {
  cloudabi_timestamp_t t;
  if (cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &t) == 0 &&
      tls_initialised == 42)
    constructor_state = 1;
  else
    constructor_state = 2;
}

/* ---- clocks ---- */

static bool check_clock_monotonic(void) {
  cloudabi_timestamp_t t1, t2;
  if (cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 1, &t1) != 0 ||
      t1 == 0)
    return false;
  for (int i = 0; i < 100000; ++i) {
    if (cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 1, &t2) != 0 ||
        t2 < t1)
      return false;
    if (t2 > t1)
      return true;
  }
  return false;
}

static bool check_clock_realtime(void) {
  cloudabi_timestamp_t t;
  return cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_REALTIME, 1, &t) == 0 &&
         t > 1577836800ULL * 1000000000ULL;
}

static bool check_clock_res_get(void) {
  cloudabi_timestamp_t res;
  return cloudabi_sys_clock_res_get(CLOUDABI_CLOCK_MONOTONIC, &res) == 0 &&
         res > 0 && res <= 1000000000ULL;
}

/* ---- CPU-time clocks ---- */

static cloudabi_timestamp_t cpu_now(cloudabi_clockid_t id) {
  cloudabi_timestamp_t t = 0;
  if (cloudabi_sys_clock_time_get(id, 1, &t) != 0)
    return 0;
  return t;
}

/* Computes until the thread's CPU-time clock has advanced by 20 ms. */
static bool spin_cpu(void) {
  cloudabi_timestamp_t start = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID);
  if (start == 0)
    return false;
  for (int i = 0; i < 1000000000; i++) {
    if ((i & 0xffff) == 0 && cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID) >= start + 20000000)
      return true;
  }
  return false;
}

static bool thread_cpu_ok;
static cloudabi_timestamp_t thread_cpu_spent;

static void cpu_thread(void *arg) {
  (void)arg;
  cloudabi_timestamp_t start = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID);
  thread_cpu_ok = spin_cpu();
  thread_cpu_spent = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID) - start;
}

static bool check_cpu_clocks(void) {
  cloudabi_timestamp_t process = cpu_now(CLOUDABI_CLOCK_PROCESS_CPUTIME_ID);
  bool ok = process != 0 && spin_cpu();
  cloudabi_timestamp_t main_before = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID);
  sdk_thread_t t;
  ok = ok && sdk_thread_create(&t, cpu_thread, NULL) == 0 && sdk_thread_join(t) == 0;
  cloudabi_timestamp_t main_after = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID);
  /* The second thread's 20 ms are its own: the main thread, waiting in
     thread_join, spent far less; both count for the process. */
  ok = ok && thread_cpu_ok && thread_cpu_spent >= 20000000 &&
       main_after - main_before < thread_cpu_spent / 2;
  return ok && cpu_now(CLOUDABI_CLOCK_PROCESS_CPUTIME_ID) >= process + 40000000;
}

/* A thread's first reading: a host that only accounts at scheduler ticks
   or context switches reports 0 for a thread that has run for less. */
static cloudabi_timestamp_t fresh_thread_reading;

static void fresh_thread(void *arg) {
  (void)arg;
  fresh_thread_reading = cpu_now(CLOUDABI_CLOCK_THREAD_CPUTIME_ID);
}

static bool check_cpu_clocks_precise(void) {
  static const cloudabi_clockid_t clocks[] = {CLOUDABI_CLOCK_PROCESS_CPUTIME_ID,
                                              CLOUDABI_CLOCK_THREAD_CPUTIME_ID};
  bool ok = true;
  for (int c = 0; c < 2; c++) {
    cloudabi_timestamp_t res = 0;
    ok = ok && cloudabi_sys_clock_res_get(clocks[c], &res) == 0 && res == 1;
    cloudabi_timestamp_t last = cpu_now(clocks[c]);
    for (int i = 0; i < 100 && ok; i++) {
      for (volatile int j = 0; j < 1000; j++) {
      }
      cloudabi_timestamp_t now = cpu_now(clocks[c]);
      ok = now > last;
      last = now;
    }
  }
  sdk_thread_t t;
  ok = ok && sdk_thread_create(&t, fresh_thread, NULL) == 0 && sdk_thread_join(t) == 0;
  return ok && fresh_thread_reading > 0;
}

/* ---- random ---- */

static bool check_random_get(void) {
  unsigned char a[32], b[32], zero[32];
  memset(zero, 0, sizeof(zero));
  if (cloudabi_sys_random_get(a, sizeof(a)) != 0 ||
      cloudabi_sys_random_get(b, sizeof(b)) != 0)
    return false;
  return memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0;
}

/* ---- fds ---- */

static bool check_fd_stat_get(void) {
  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_stat_get(out, &st) != 0)
    return false;
  return (st.fs_rights_base & CLOUDABI_RIGHT_FD_WRITE) != 0;
}

/* ---- memory ---- */

static bool check_mem_map(void) {
  size_t len = 2 * (size_t)sdk_pagesz;
  void *mem;
  if (cloudabi_sys_mem_map(NULL, len, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                           CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                           CLOUDABI_MAP_ANON_FD, 0, &mem) != 0)
    return false;
  volatile unsigned char *p = mem;
  bool ok = p[0] == 0 && p[len - 1] == 0;
  for (size_t i = 0; i < len; i += 512)
    p[i] = (unsigned char)(i / 512 + 1);
  for (size_t i = 0; i < len; i += 512)
    ok = ok && p[i] == (unsigned char)(i / 512 + 1);
  ok = ok && cloudabi_sys_mem_protect(mem, len, CLOUDABI_PROT_READ) == 0;
  ok = ok && p[512] == 2;
  ok = ok && cloudabi_sys_mem_unmap(mem, len) == 0;
  return ok;
}

/* ---- TLS ---- */

__attribute__((noinline)) static bool check_tls(void) {
  bool ok = tls_initialised == 42 && tls_aligned == 7 &&
            ((uintptr_t)&tls_aligned & 63) == 0;
  for (size_t i = 0; i < sizeof(tls_zeroed); ++i)
    ok = ok && tls_zeroed[i] == 0;
  tls_initialised = 43;
  tls_zeroed[99] = 5;
  ok = ok && tls_initialised == 43 && tls_zeroed[99] == 5;
  return ok;
}

/* ---- SafeStack ---- */

__attribute__((noinline)) static void fill(volatile char *buf, size_t len) {
  for (size_t i = 0; i < len; ++i)
    buf[i] = (char)i;
}

__attribute__((noinline)) static bool check_safestack(void) {
  char buf[256]; /* address-taken: SafeStack moves it to the unsafe stack */
  fill(buf, sizeof(buf));
  uintptr_t unsafe_sp = (uintptr_t)__safestack_unsafe_stack_ptr;
  bool ok = unsafe_sp != 0 && (uintptr_t)buf >= unsafe_sp &&
            (uintptr_t)buf < unsafe_sp + 4096;
  for (size_t i = 0; i < sizeof(buf); ++i)
    ok = ok && buf[i] == (char)i;
  return ok;
}

/* ---- auxv ---- */

static bool check_auxv(void) {
  return sdk_pid != NULL && sdk_pagesz >= 4096 &&
         (sdk_pagesz & (sdk_pagesz - 1)) == 0 && sdk_ncpus >= 1;
}

/* ---- argdata reader ---- */

static void parse(const void *buf, size_t len, argdata_t *ad) {
  sdk_argdata_init(ad, buf, len);
}

static bool check_argdata(void) {
  argdata_t ad;
  bool ok = true;

  /* seq [0, true, "A"] */
  static const unsigned char seq[] = {7, 0x81, 5, 0x82, 2, 1, 0x83, 8, 'A', 0};
  parse(seq, sizeof(seq), &ad);
  argdata_seq_iterator_t it;
  const argdata_t *e;
  int n = 0;
  argdata_seq_iterate(&ad, &it);
  while (argdata_seq_get(&it, &e)) {
    int i;
    bool b;
    const char *s;
    if (n == 0)
      ok = ok && argdata_get_int(e, &i) == 0 && i == 0;
    if (n == 1)
      ok = ok && argdata_get_bool(e, &b) == 0 && b;
    if (n == 2)
      ok = ok && argdata_get_str_c(e, &s) == 0 && strcmp(s, "A") == 0;
    ++n;
    argdata_seq_next(&it);
  }
  ok = ok && n == 3 && it.error == 0;

  /* Integers: 255, -1, -129, 2^64-1, out of range. */
  static const unsigned char i255[] = {5, 0x00, 0xff};
  static const unsigned char im1[] = {5, 0xff};
  static const unsigned char im129[] = {5, 0xff, 0x7f};
  static const unsigned char umax[] = {5, 0, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff};
  int i;
  unsigned char uc;
  long l;
  unsigned long ul;
  parse(i255, sizeof(i255), &ad);
  ok = ok && argdata_get_int(&ad, &i) == 0 && i == 255;
  ok = ok && argdata_get_int(&ad, &uc) == 0 && uc == 255;
  signed char sc;
  ok = ok && argdata_get_int(&ad, &sc) == CLOUDABI_ERANGE;
  parse(im1, sizeof(im1), &ad);
  ok = ok && argdata_get_int(&ad, &i) == 0 && i == -1;
  ok = ok && argdata_get_int(&ad, &ul) == CLOUDABI_ERANGE;
  parse(im129, sizeof(im129), &ad);
  ok = ok && argdata_get_int(&ad, &l) == 0 && l == -129;
  parse(umax, sizeof(umax), &ad);
  ok = ok && argdata_get_int(&ad, &ul) == 0 && ul == ~0UL;
  ok = ok && argdata_get_int(&ad, &l) == CLOUDABI_ERANGE;

  /* Map {"a": fd 3}; lookups. */
  static const unsigned char map[] = {6, 0x83, 8, 'a', 0, 0x85, 3, 0, 0, 0, 3};
  parse(map, sizeof(map), &ad);
  argdata_t v;
  int fd;
  ok = ok && sdk_argdata_map_lookup(&ad, "a", &v) == 0 &&
       argdata_get_fd(&v, &fd) == 0 && fd == 3;
  ok = ok && sdk_argdata_map_lookup(&ad, "b", &v) == CLOUDABI_ENOENT;

  /* Malformed: subfield longer than the buffer, key without value,
   * unterminated length, string without NUL, bad UTF-8, wrong types. */
  static const unsigned char bad_len[] = {7, 0x85, 5};
  static const unsigned char no_value[] = {6, 0x82, 8, 0};
  static const unsigned char open_len[] = {7, 0x01, 0x01};
  static const unsigned char no_nul[] = {8, 'a', 'b'};
  static const unsigned char bad_utf8[] = {8, 0xc0, 0x80, 0};
  static const unsigned char huge_len[] = {7, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
                                           0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0xff};
  const char *s;
  parse(bad_len, sizeof(bad_len), &ad);
  argdata_seq_iterate(&ad, &it);
  ok = ok && !argdata_seq_get(&it, &e) && it.error == CLOUDABI_EINVAL;
  parse(huge_len, sizeof(huge_len), &ad);
  argdata_seq_iterate(&ad, &it);
  ok = ok && !argdata_seq_get(&it, &e) && it.error == CLOUDABI_EINVAL;
  parse(open_len, sizeof(open_len), &ad);
  argdata_seq_iterate(&ad, &it);
  ok = ok && !argdata_seq_get(&it, &e) && it.error == CLOUDABI_EINVAL;
  parse(no_value, sizeof(no_value), &ad);
  argdata_map_iterator_t mit;
  const argdata_t *k;
  argdata_map_iterate(&ad, &mit);
  ok = ok && !argdata_map_get(&mit, &k, &e) && mit.error == CLOUDABI_EINVAL;
  parse(no_nul, sizeof(no_nul), &ad);
  ok = ok && argdata_get_str_c(&ad, &s) == CLOUDABI_EINVAL;
  parse(bad_utf8, sizeof(bad_utf8), &ad);
  ok = ok && argdata_get_str_c(&ad, &s) == CLOUDABI_EILSEQ;
  parse(seq, sizeof(seq), &ad);
  ok = ok && argdata_get_fd(&ad, &fd) == CLOUDABI_EINVAL;
  argdata_map_iterate(&ad, &mit);
  ok = ok && mit.error == CLOUDABI_EINVAL && !argdata_map_get(&mit, &k, &e);
  parse(NULL, 0, &ad);
  ok = ok && sdk_argdata_type(&ad) == SDK_ARGDATA_NULL &&
       argdata_get_int(&ad, &i) == CLOUDABI_EINVAL;

  /* argv form: "ab\0c\0" is a sequence of two strings. */
  static const char argv[] = "ab\0c";
  sdk_argdata_init_argv(&ad, argv, sizeof(argv));
  n = 0;
  argdata_seq_iterate(&ad, &it);
  while (argdata_seq_get(&it, &e)) {
    ok = ok && argdata_get_str_c(e, &s) == 0 &&
         strcmp(s, n == 0 ? "ab" : "c") == 0;
    ++n;
    argdata_seq_next(&it);
  }
  ok = ok && n == 2 && it.error == 0;
  return ok;
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  int fd;
  if (argdata_get_fd(ad, &fd) != 0 &&
      (sdk_argdata_map_lookup(ad, "out", &value) != 0 ||
       argdata_get_fd(&value, &fd) != 0))
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)fd;

  report("constructor", constructor_state == 1);
  report("clock_monotonic", check_clock_monotonic());
  report("clock_realtime", check_clock_realtime());
  report("clock_res_get", check_clock_res_get());
  report("cpu_clocks", check_cpu_clocks());
  report("cpu_clocks_precise", check_cpu_clocks_precise());
  report("random_get", check_random_get());
  report("fd_stat_get", check_fd_stat_get());
  report("mem_map", check_mem_map());
  report("tls", check_tls());
  report("safestack", check_safestack());
  report("auxv", check_auxv());
  report("argdata", check_argdata());
  cloudabi_sys_proc_exit(failures);
}
