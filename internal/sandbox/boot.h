// Layout of the boot block shared by the supervisor (boot.go) and the
// sandbox stub (stub.c). Keep the two in step; boot_test.go checks them.
#ifndef CLOUDABI_BOOT_H
#define CLOUDABI_BOOT_H

#include <stdint.h>

#define CLOUDABI_BOOT_SIZE 8192
#define CLOUDABI_BOOT_MAGIC 0x544f4f4249424143ULL // "CABIBOOT"
#define CLOUDABI_BOOT_MAX_PROT 240
#define CLOUDABI_BOOT_MAX_FILTER 256

#define CLOUDABI_BOOT_STARTING 0
#define CLOUDABI_BOOT_READY 1
#define CLOUDABI_BOOT_FAILED 2

struct cloudabi_boot {
	uint64_t magic;       // 0
	uint32_t status;      // 8: futex word
	uint32_t error;       // 12: errno of a failed step
	uint32_t failed_step; // 16
	uint32_t notify_fd;   // 20
	uint64_t entry;       // 24
	uint64_t sp;          // 32
	uint64_t auxv;        // 40
	uint64_t fsbase;      // 48
	uint64_t nprot;       // 56
	uint64_t nfilter;     // 64
	uint64_t max_tasks;     // 72: RLIMIT_NPROC, 0 for none
	uint64_t cpu_seconds;   // 80: RLIMIT_CPU, 0 for none
	uint32_t landlock_abi;  // 88: out: the Landlock ABI applied, 0 for none
	uint32_t reserved0;     // 92
	// With a pid namespace (see stub.c's run_init):
	uint32_t attached;      // 96: set by the supervisor once it holds the sandbox process
	uint32_t exited;        // 100: set by the init process once the sandbox process has ended
	uint32_t wait_status;   // 104: the sandbox process's wait status, when exited is set
	uint32_t init_ready;    // 108: set by the init process once it has its filter
	uint64_t reserved[2];   // 112
	struct {
		uint64_t addr, len, prot;
	} prot[CLOUDABI_BOOT_MAX_PROT]; // 128
	struct {
		uint16_t code;
		uint8_t jt, jf;
		uint32_t k;
	} filter[CLOUDABI_BOOT_MAX_FILTER]; // 128 + 240*24 = 5888
};

_Static_assert(sizeof(struct cloudabi_boot) <= CLOUDABI_BOOT_SIZE, "boot block too large");
// The offsets boot.go writes at.
_Static_assert(__builtin_offsetof(struct cloudabi_boot, nfilter) == 64, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, max_tasks) == 72, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, cpu_seconds) == 80, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, landlock_abi) == 88, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, attached) == 96, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, exited) == 100, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, wait_status) == 104, "boot block layout");
_Static_assert(__builtin_offsetof(struct cloudabi_boot, prot) == 128, "boot block layout");

#endif
