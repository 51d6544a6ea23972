/*
 * exitrace: reproduces a use of an exited thread's stack. Threads are
 * created as cloudlibc's pthread_create does: on a stack mapped with
 * mem_map, with a join lock that thread_exit releases. The thread calls
 * thread_exit on its own stack (as pthread_exit does); the joiner takes
 * the join lock and unmaps the stack at once (as pthread_join does).
 *
 * If the runtime releases the join lock while the exiting thread can
 * still touch its stack, the unmapping races with that access and the
 * process dies of SIGSEGV. The entry point uses no TLS and no unsafe
 * stack, so nothing but the exit path touches the stack.
 *
 * Argdata: {out: !fd, iters: N (20000), batch: N (8), unmap: 0|1 (1)}.
 * Output: "joined N". Exit 0 if every thread was joined.
 */
#include "common.h"

#define MAX_BATCH 64
#define STACK_SIZE 16384

struct th {
  _Atomic(cloudabi_lock_t) join;
  void *stack;
};

static struct th threads[MAX_BATCH];

__attribute__((no_sanitize("safe-stack"))) static void entry(cloudabi_tid_t tid,
                                                             void *arg) {
  struct th *t = arg;
  cloudabi_lock_t old = atomic_load(&t->join);
  while (!atomic_compare_exchange_weak(
      &t->join, &old,
      (old & CLOUDABI_LOCK_KERNEL_MANAGED) | CLOUDABI_LOCK_WRLOCKED | tid))
    ;
  cloudabi_sys_thread_exit(&t->join, CLOUDABI_SCOPE_PRIVATE);
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t iters = arg_u64(ad, "iters", 20000);
  uint64_t batch = arg_u64(ad, "batch", 8);
  uint64_t unmap = arg_u64(ad, "unmap", 1);
  if (batch == 0 || batch > MAX_BATCH)
    cloudabi_sys_proc_exit(2);
  uint64_t joined = 0;
  while (joined < iters) {
    for (uint64_t i = 0; i < batch; ++i) {
      struct th *t = &threads[i];
      atomic_store(&t->join, CLOUDABI_LOCK_WRLOCKED);
      check(cloudabi_sys_mem_map(NULL, STACK_SIZE,
                                 CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
                                 CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                                 CLOUDABI_MAP_ANON_FD, 0, &t->stack),
            "mem_map_error");
      cloudabi_threadattr_t attr = {.entry_point = entry,
                                    .stack = t->stack,
                                    .stack_len = STACK_SIZE,
                                    .argument = t};
      cloudabi_tid_t tid;
      check(cloudabi_sys_thread_create(&attr, &tid), "create_error");
    }
    for (uint64_t i = 0; i < batch; ++i) {
      struct th *t = &threads[i];
      cloudabi_subscription_t sub = {
          .type = CLOUDABI_EVENTTYPE_LOCK_WRLOCK,
          .lock.lock = &t->join,
          .lock.lock_scope = CLOUDABI_SCOPE_PRIVATE};
      cloudabi_event_t ev;
      size_t n;
      cloudabi_lock_t expected = 0;
      if (!atomic_compare_exchange_strong(&t->join, &expected,
                                          CLOUDABI_LOCK_WRLOCKED | sdk_tid)) {
        check(cloudabi_sys_poll(&sub, &ev, 1, &n), "poll_error");
        check(ev.error, "join_error");
      }
      /* The thread has exited: its stack is free. (With unmap: 0 the
       * stacks are leaked instead, to show that the crash comes from
       * unmapping them.) */
      if (unmap)
        check(cloudabi_sys_mem_unmap(t->stack, STACK_SIZE), "unmap_error");
      ++joined;
    }
  }
  put_u64("joined", joined);
  cloudabi_sys_proc_exit(0);
}
