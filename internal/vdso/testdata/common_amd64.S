# The vDSO's common system call routine (x86-64). internal/vdso embeds its
# machine code; asm_test.go assembles this file, with the OFF_*, SHARED_*,
# STATE_* and FS_MAILBOX symbols defined from internal/transport's
# constants, and checks that the bytes agree.
#
# On entry: %eax = CloudABI system call number, %rdi..%r9 = the first six
# arguments, %r10 = the seventh (mem_map only). Returns the errno in %eax.
.text
common:
  mov %fs:FS_MAILBOX, %r11
  mov %rax, OFF_NR(%r11)
  mov %rdi, OFF_ARGS+0(%r11)
  mov %rsi, OFF_ARGS+8(%r11)
  mov %rdx, OFF_ARGS+16(%r11)
  mov %rcx, OFF_ARGS+24(%r11)
  mov %r8, OFF_ARGS+32(%r11)
  mov %r9, OFF_ARGS+40(%r11)
  mov %r10, OFF_ARGS+48(%r11)
  movq $0, OFF_POST(%r11)
  mov %r11, %r8
  mov $STATE_REQUEST, %ecx
  xchg %ecx, OFF_STATE(%r8)                 # State = Request, full barrier
  # Ring the doorbell: set this thread's pending bit, bump the counter,
  # and wake the dispatcher only if it sleeps.
  mov OFF_SHARED(%r8), %r9
  mov OFF_SLOT(%r8), %eax
  mov %eax, %ecx
  shr $6, %eax
  and $63, %ecx
  lock bts %rcx, SHARED_PENDING(%r9,%rax,8)
  lock incl SHARED_DOORBELL(%r9)
  cmpl $0, SHARED_DISPATCHER_WAITING(%r9)
  je 1f
  mov $202, %eax                            # futex(doorbell, FUTEX_WAKE, 1)
  mov %r9, %rdi
  mov $1, %esi
  mov $1, %edx
  syscall
1:
  # Spin while the call runs; stop at the reply, or sleep at once when
  # the supervisor says the call will block (State = Blocked).
  mov $0x400, %ecx                          # spin count
2:
  mov OFF_STATE(%r8), %eax
  cmp $STATE_RESPONSE, %eax
  je 5f
  cmp $STATE_REQUEST, %eax
  jne 12f
  pause
  dec %ecx
  jnz 2b
12:
  mov $1, %eax
  xchg %eax, OFF_GUEST_WAITING(%r8)         # GuestWaiting = 1, full barrier
3:
  mov OFF_STATE(%r8), %edx
  cmp $STATE_RESPONSE, %edx
  je 4f
  mov $202, %eax                            # futex(state, FUTEX_WAIT, State)
  mov %r8, %rdi
  xor %esi, %esi
  xor %r10d, %r10d
  syscall
  jmp 3b
4:
  movl $0, OFF_GUEST_WAITING(%r8)
5:
  # Run the Linux system call the supervisor asked for, if any.
  # The stack is not touched from here on: after thread_exit's reply
  # the thread's stack may already be unmapped by a joiner. The mailbox
  # pointer is kept in %rbx, whose own value waits in the mailbox.
  mov OFF_POST(%r8), %rax
  test %rax, %rax
  jz 6f
  mov %rbx, OFF_SCRATCH(%r8)
  mov %r8, %rbx
  mov OFF_POST_ARGS+0(%r8), %rdi
  mov OFF_POST_ARGS+8(%r8), %rsi
  mov OFF_POST_ARGS+16(%r8), %rdx
  mov OFF_POST_ARGS+24(%r8), %r10
  cmp $56, %rax                             # SYS_clone?
  mov OFF_POST_ARGS+32(%r8), %r8
  je 7f
  cmp $9, %rax                              # SYS_mmap: map a file
  je 9f
  syscall
  mov %rbx, %r8
  mov OFF_SCRATCH(%r8), %rbx
6:
  movzwl OFF_RESULT(%r8), %eax
  ret
7:
  syscall
  test %rax, %rax
  jz 8f
  mov %rbx, %r8
  mov OFF_SCRATCH(%r8), %rbx
  jns 6b
  mov $6, %eax                              # clone failed: EAGAIN
  ret
8:
  # The new thread, on the stack the supervisor prepared:
  # entry point, thread id, argument, then a zero return address.
  pop %rax
  pop %rdi
  pop %rsi
  jmp *%rax
9:
  # Map a file the supervisor hands over: the process holds no file, so
  # it asks for it with pidfd_getfd(token), which the seccomp filter
  # sends to the supervisor; the supervisor answers with the number of
  # the descriptor it has just installed. PostArgs: address, length,
  # protection, file offset, token.
  mov $438, %eax                            # SYS_pidfd_getfd
  mov OFF_POST_ARGS+32(%rbx), %rdi
  xor %esi, %esi
  xor %edx, %edx
  syscall
  test %rax, %rax
  js 10f
  mov %rax, %r8
  mov $9, %eax                              # mmap(addr, len, prot,
  mov OFF_POST_ARGS+0(%rbx), %rdi           #   MAP_SHARED|MAP_FIXED, fd, off)
  mov OFF_POST_ARGS+8(%rbx), %rsi
  mov OFF_POST_ARGS+16(%rbx), %rdx
  mov $0x11, %r10d
  mov OFF_POST_ARGS+24(%rbx), %r9
  syscall
  mov %rax, %r9
  mov $3, %eax                              # close(fd)
  mov %r8, %rdi
  syscall
  cmp $-4095, %r9
  jae 10f
  mov %rbx, %r8
  mov OFF_SCRATCH(%r8), %rbx
  jmp 6b
10:
  # No file, or the host refused the mapping: ENOMEM.
  mov %rbx, %r8
  mov OFF_SCRATCH(%r8), %rbx
  mov $48, %eax
  ret

# proc_fork's stub jumps here instead of to common: the child process
# resumes this thread from forkchild with the callee-saved registers and
# stack pointer it had at the call, so they are saved in the mailbox first.
forkentry:
  mov %fs:FS_MAILBOX, %r11
  mov %rbx, OFF_SAVED+0(%r11)
  mov %rbp, OFF_SAVED+8(%r11)
  mov %r12, OFF_SAVED+16(%r11)
  mov %r13, OFF_SAVED+24(%r11)
  mov %r14, OFF_SAVED+32(%r11)
  mov %r15, OFF_SAVED+40(%r11)
  mov %rsp, OFF_SAVED+48(%r11)
  jmp common

# The entry point of a forked child that shares file mappings with its
# parent: it maps each file the supervisor hands over (as above, with the
# token in PostArgs and the supervisor filling in the other arguments
# before each one) until the supervisor answers with an error, then
# resumes as forkchild.
forkmap:
  mov %fs:FS_MAILBOX, %rbx
11:
  mov $438, %eax                            # SYS_pidfd_getfd
  mov OFF_POST_ARGS+32(%rbx), %rdi
  xor %esi, %esi
  xor %edx, %edx
  syscall
  test %rax, %rax
  js forkchild
  mov %rax, %r8
  mov $9, %eax                              # SYS_mmap
  mov OFF_POST_ARGS+0(%rbx), %rdi
  mov OFF_POST_ARGS+8(%rbx), %rsi
  mov OFF_POST_ARGS+16(%rbx), %rdx
  mov $0x11, %r10d                          # MAP_SHARED|MAP_FIXED
  mov OFF_POST_ARGS+24(%rbx), %r9
  syscall
  mov $3, %eax                              # close(fd)
  mov %r8, %rdi
  syscall
  jmp 11b

# The entry point of a forked child: the sandbox stub has set the FS base
# of the forking thread. Return from proc_fork with success; the
# supervisor has written the child's outputs already.
forkchild:
  mov %fs:FS_MAILBOX, %r11
  mov OFF_SAVED+0(%r11), %rbx
  mov OFF_SAVED+8(%r11), %rbp
  mov OFF_SAVED+16(%r11), %r12
  mov OFF_SAVED+24(%r11), %r13
  mov OFF_SAVED+32(%r11), %r14
  mov OFF_SAVED+40(%r11), %r15
  mov OFF_SAVED+48(%r11), %rsp
  xor %eax, %eax
  ret

# clock_time_get's stub jumps here instead of to common. The four clocks
# of the ABI are read here, in the calling thread, with no call to the
# supervisor: the time is that of the call, and the CPU-time clocks are
# precise, which no other process can read them. The output pointer is
# checked by the host kernel as the supervisor would check it: time(ptr)
# stores 8 bytes there or fails with EFAULT (NULL is refused here, as
# time(NULL) stores nothing); a concurrent unmap by another
# thread can then only fault the guest itself. The clock is read into the
# mailbox (transport.OffTimespec) and converted to nanoseconds. Any other
# clock id goes to the supervisor (EINVAL).
clockentry:
  lea -1(%rdi), %ecx                        # CloudABI clocks 1..4
  cmp $3, %ecx
  ja common
  shl $3, %ecx
  mov $0x03000201, %r9d                     # their Linux clocks, a byte each:
  shr %cl, %r9d                             #   MONOTONIC, PROCESS_CPUTIME_ID,
  and $0xff, %r9d                           #   REALTIME, THREAD_CPUTIME_ID
  mov %rdx, %r8                             # where the time goes
  test %r8, %r8                             # time(NULL) stores nothing
  jz 1f
  mov $201, %eax                            # SYS_time(ptr)
  mov %r8, %rdi
  syscall
  cmp $-4095, %rax
  jae 1f
  mov %r9d, %edi
  mov %fs:FS_MAILBOX, %rsi
  add $OFF_TIMESPEC, %rsi
  mov $228, %eax                            # SYS_clock_gettime
  syscall
  test %rax, %rax
  jnz 2f
  imul $1000000000, (%rsi), %rax
  add 8(%rsi), %rax
  mov %rax, (%r8)
  xor %eax, %eax
  ret
1:
  mov $21, %eax                             # EFAULT
  ret
2:
  mov $29, %eax                             # EIO
  ret
