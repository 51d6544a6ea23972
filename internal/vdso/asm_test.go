package vdso

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cloudabi-go/cloudabi/internal/transport"
)

// TestCommonRoutineMatchesSource assembles testdata/common_amd64.S with the
// offsets of internal/transport and checks that the embedded machine code is
// exactly its output: the bytes, the source and the protocol cannot drift
// apart.
func TestCommonRoutineMatchesSource(t *testing.T) {
	for _, tool := range []string{"as", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (binutils): %v", tool, err)
		}
	}
	src, err := os.ReadFile("testdata/common_amd64.S")
	if err != nil {
		t.Fatal(err)
	}
	var prelude bytes.Buffer
	for _, c := range []struct {
		name string
		val  int
	}{
		{"FS_MAILBOX", transport.FSMailboxPointer},
		{"OFF_STATE", transport.OffState},
		{"OFF_GUEST_WAITING", transport.OffGuestWaiting},
		{"OFF_NR", transport.OffNr},
		{"OFF_ARGS", transport.OffArgs},
		{"OFF_RESULT", transport.OffResult},
		{"OFF_POST", transport.OffPost},
		{"OFF_POST_ARGS", transport.OffPostArgs},
		{"OFF_SLOT", transport.OffSlot},
		{"OFF_SHARED", transport.OffShared},
		{"SHARED_DOORBELL", transport.SharedDoorbell},
		{"SHARED_DISPATCHER_WAITING", transport.SharedDispatcherWaiting},
		{"SHARED_PENDING", transport.SharedPending},
		{"STATE_REQUEST", transport.StateRequest},
		{"STATE_RESPONSE", transport.StateResponse},
		{"OFF_SAVED", transport.OffSaved},
		{"OFF_SCRATCH", transport.OffScratch},
		{"OFF_TIMESPEC", transport.OffTimespec},
	} {
		fmt.Fprintf(&prelude, ".set %s, %d\n", c.name, c.val)
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "common.S")
	if err := os.WriteFile(full, append(prelude.Bytes(), src...), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, bin := filepath.Join(dir, "common.o"), filepath.Join(dir, "common.bin")
	if out, err := exec.Command("as", "--64", "-o", obj, full).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	if out, err := exec.Command("objcopy", "-O", "binary", "-j", ".text", obj, bin).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(commonAMD64, want) {
		for i := range min(len(want), len(commonAMD64)) {
			if want[i] != commonAMD64[i] {
				t.Fatalf("embedded routine differs from the assembled source at byte %#x (%#02x, want %#02x); lengths %d and %d",
					i, commonAMD64[i], want[i], len(commonAMD64), len(want))
			}
		}
		t.Fatalf("embedded routine is %d bytes, the assembled source %d", len(commonAMD64), len(want))
	}
	syms, err := exec.Command("nm", obj).Output()
	if err != nil {
		t.Fatalf("nm: %v", err)
	}
	for _, sym := range []struct {
		name string
		off  int
	}{{"forkentry", forkEntry}, {"forkmap", forkMap}, {"forkchild", forkChild}, {"clockentry", clockEntry}} {
		if want := fmt.Sprintf("%016x t %s\n", sym.off, sym.name); !bytes.Contains(syms, []byte(want)) {
			t.Errorf("%s is not at %#x in the assembled source:\n%s", sym.name, sym.off, syms)
		}
	}
	if spin := []byte{0xb9, spinCount & 0xff, spinCount >> 8 & 0xff, 0, 0}; !bytes.Contains(commonAMD64, spin) {
		t.Errorf("spinCount %#x does not match the routine's spin loop", spinCount)
	}
}
