package kernel

import "github.com/cloudabi-go/cloudabi/abi"

// poll.
var pollSyscalls = map[abi.Syscall]handler{}
