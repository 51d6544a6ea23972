package kernel

import "github.com/cloudabi-go/cloudabi/abi"

// Sockets.
var sockSyscalls = map[abi.Syscall]handler{}
