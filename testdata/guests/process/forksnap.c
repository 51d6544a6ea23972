/*
 * forksnap: proc_fork takes the parent's memory at one instant, while its
 * other threads run. A writer thread keeps two words many pages apart in
 * step (tail is head, or head minus one while it moves on); the main
 * thread forks, and each child checks that its copy has them in step.
 * A copy made page by page while the writer runs would show a tail far
 * behind its head.
 *
 * Exit status: 0, or 1 + the number of children that saw them apart
 * (capped), or 100 if a call failed.
 */
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>
#include <program.h>
#include <stdatomic.h>

#include "../process.h"

/* 32 MiB of touched pages between head and tail make the copy slow. */
#define WORDS (32 << 20) / sizeof(uint64_t)
static volatile uint64_t words[WORDS];
static _Atomic int stop;

static void writer(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    uint64_t v = words[0] + 1;
    words[0] = v;
    words[WORDS - 1] = v;
  }
}

void program_main(const argdata_t *ad) {
  (void)ad;
  for (size_t i = 0; i < WORDS; i += 512)
    words[i] = 0;
  sdk_thread_t t;
  if (sdk_thread_create(&t, writer, NULL) != 0)
    cloudabi_sys_proc_exit(100);
  sleep_ms(5);
  int apart = 0;
  for (int round = 0; round < 10; round++) {
    cloudabi_fd_t child;
    cloudabi_tid_t tid;
    if (cloudabi_sys_proc_fork(&child, &tid) != 0)
      cloudabi_sys_proc_exit(100);
    if (child == CLOUDABI_PROCESS_CHILD) {
      uint64_t head = words[0], tail = words[WORDS - 1];
      cloudabi_sys_proc_exit(tail == head || tail + 1 == head ? 0 : 1);
    }
    cloudabi_event_t ev = wait_process(child);
    if (ev.error != 0 || ev.proc_terminate.signal != 0)
      cloudabi_sys_proc_exit(100);
    apart += ev.proc_terminate.exitcode != 0;
    cloudabi_sys_fd_close(child);
  }
  atomic_store(&stop, 1);
  sdk_thread_join(t);
  cloudabi_sys_proc_exit(apart == 0 ? 0 : 1 + apart);
}
