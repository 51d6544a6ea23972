/*
 * process.h: helpers for the test guests that fork: waiting for a child
 * process and sleeping.
 */
#ifndef GUESTS_PROCESS_H
#define GUESTS_PROCESS_H

#include <cloudabi_syscalls.h>
#include <stdint.h>

/* Waits for the process behind fd to end. The event's userdata is 77;
 * its error is 9999 if poll itself failed. */
__attribute__((unused)) static cloudabi_event_t wait_process(cloudabi_fd_t fd) {
  cloudabi_subscription_t sub = {.userdata = 77, .type = CLOUDABI_EVENTTYPE_PROC_TERMINATE, .proc_terminate = {.fd = fd}};
  cloudabi_event_t ev = {0};
  size_t n = 0;
  if (cloudabi_sys_poll(&sub, &ev, 1, &n) != 0 || n != 1)
    ev.error = 9999;
  return ev;
}

__attribute__((unused)) static void sleep_ms(uint64_t ms) {
  cloudabi_subscription_t sub = {.type = CLOUDABI_EVENTTYPE_CLOCK, .clock = {.clock_id = CLOUDABI_CLOCK_MONOTONIC, .timeout = ms * 1000000}};
  cloudabi_event_t ev;
  size_t n;
  cloudabi_sys_poll(&sub, &ev, 1, &n);
}

#endif
