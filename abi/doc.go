// Package abi describes the CloudABI application binary interface: its
// integer types and constants, the memory layout of its structures as seen
// by a 64-bit (LP64) program, and its system calls.
//
// All declarations are generated from the ABI definition, cloudabi.txt. Structures mirror the C structures of the SDK headers
// byte for byte: pointers are guest addresses stored as uint64, a range
// field "buf" becomes the fields Buf and BufLen, and a variant (C union)
// becomes a byte array named Union with accessor methods per case. The
// Sizeof* and Offsetof* constants give the C layout of every structure.
//
// System call numbers are the order of the system calls in the definition;
// Syscalls describes their parameters in the calling convention of the vDSO.
package abi

//go:generate go run ../internal/abigen -spec ../../shared/spec/cloudabi.txt -out ..
