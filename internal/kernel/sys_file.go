package kernel

import "github.com/cloudabi-go/cloudabi/abi"

// Files and directories.
var fileSyscalls = map[abi.Syscall]handler{}
