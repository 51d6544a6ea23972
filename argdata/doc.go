// Package argdata encodes and decodes CloudABI argument data ("argdata").
//
// Argdata is the structured replacement for argv and the environment that a
// CloudABI program receives at startup (through the auxiliary vector) and that
// it passes on with proc_exec. It is a YAML-like tree of values in which file
// descriptors are a native type, so that the set of descriptors a program
// receives is exactly the set mentioned in its argdata.
//
// # Wire format
//
// An encoded value is a byte string whose first byte is a type tag, followed
// by a payload that extends to the end of the string. The length of a value is
// never stored inside the value itself: it is always known from the context
// (the whole buffer, or the subfield it is stored in).
//
//	tag  type       payload
//	--   Null       (the empty byte string: no tag at all)
//	01   Binary     the raw bytes
//	02   Bool       nothing for false, the single byte 01 for true
//	03   FD         a 4-byte big-endian uint32
//	04   Float      an 8-byte big-endian IEEE 754 double
//	05   Int        two's complement, big-endian, in the fewest bytes
//	06   Map        subfields: key, value, key, value, ...
//	07   Seq        subfields: element, element, ...
//	08   Str        UTF-8 bytes followed by one NUL byte (no NUL inside)
//	09   Timestamp  an Int payload: nanoseconds since 1970-01-01T00:00:00Z
//
// Integers use the fewest bytes that still carry the sign: 0 is the empty
// payload, 1 is 01, 127 is 7F, 128 is 00 80, 255 is 00 FF, -1 is FF, -128 is
// 80 and -129 is FF 7F.
//
// A subfield (an element of a Map or Seq) is the length of the encoded value
// followed by the encoded value itself. The length is written as a big-endian
// base-128 number, seven bits per byte, in which the high bit is set on the
// last byte only: 0 is 80, 6 is 86, 127 is FF, 128 is 01 80 and 16384 is
// 01 00 80. A Null element is therefore the single byte 80.
//
// For example, the sequence [0, true, "A"] encodes as
//
//	07  81 05  82 02 01  83 08 41 00
//
// # Canonical form
//
// Every value has exactly one encoding, and [Unmarshal] accepts only that
// encoding: it rejects non-minimal integers, subfield lengths with leading
// zero digits, a false Bool written as 02 00, and so on. Consequently, for
// every input b that Unmarshal accepts, Marshal(Unmarshal(b)) == b. Floats
// are kept bit for bit (including the payload and sign of NaNs).
//
// # Limits
//
// The decoder is meant for untrusted input. It never panics, and it bounds
// its recursion: values may nest at most [MaxDepth] containers deep. Integers
// (and timestamps) must lie in the range -2^63 .. 2^64-1, which covers every
// int64 and every uint64; the format itself has no such limit, so larger
// integers are reported as such rather than as malformed input.
//
// # Go representation
//
// A decoded value is one of [Null], [Binary], [Bool], [FD], [Float], [Int],
// [Map], [Seq], [Str] or [Timestamp], all of which implement the sealed
// interface [Value]. A Map is a slice of entries and keeps the order (and any
// duplicate keys) of its encoding; keys may be values of any type.
package argdata
