package kernel

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
	"github.com/cloudabi-go/cloudabi/internal/loader"
)

// TestHostFileBudget: with the supervisor's budget of host descriptors
// nearly used up, a program that creates descriptors gets ENFILE, well
// within its own per-process limit, and its descriptors return to the
// budget when it ends.
func TestHostFileBudget(t *testing.T) {
	data, err := os.ReadFile(guestbuild.Build(t, "testdata/guests/security/hostile.c"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := loader.Parse(data, loader.MachineX86_64)
	if err != nil {
		t.Fatal(err)
	}
	saved := hostFileLimit()
	defer hostFileBudget.Store(saved)
	before := hostFiles.Load()
	const room = 12 // two of them for the program's own out and in
	hostFileBudget.Store(before + room)

	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("mode"), Value: argdata.Str("fdhog")},
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("in"), Value: argdata.FD(1)},
	})
	p, err := Start(exe, ad, []FD{{File: outW}, {File: inR}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	var fds, errno int
	sc := bufio.NewScanner(outR)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if _, err := fmt.Sscanf(strings.Join(lines, "\n"), "fds %d\nerrno %d", &fds, &errno); err != nil {
		t.Fatalf("output %q: %v", lines, err)
	}
	if errno != int(abi.ENFILE) || fds > room-2 || fds < room-4 {
		t.Errorf("the program created %d descriptors, then got errno %d; want about %d, then ENFILE (%d)", fds, errno, room-2, abi.ENFILE)
	}
	inW.Close()
	p.Wait()
	if after := hostFiles.Load(); after != before {
		t.Errorf("host files counted: %d before the program, %d after it ended", before, after)
	}
}
