package kernel

import "github.com/cloudabi-go/cloudabi/abi"

// Threads, locks and condition variables.
var threadSyscalls = map[abi.Syscall]handler{}
