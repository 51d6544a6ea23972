// Command cloudabi-run runs a CloudABI program with the resources named in
// a YAML configuration:
//
//	cloudabi-run [flags] PROGRAM < config.yaml
//	cloudabi-run [flags] --config config.yaml PROGRAM
//
// The configuration becomes the program's argdata; every !fd, !file and
// !executable in it becomes a file descriptor of the program, and nothing
// else does. See the README for the format and the exit statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/config"
)

// Exit statuses of the launcher itself. The program's own status (its exit
// code, or 128+N for signal N) is passed through; these are chosen to match
// the conventions of sysexits.h and of shells, and documented in the README.
const (
	exitUsage         = 64  // bad flags or arguments
	exitConfig        = 65  // the configuration is not valid
	exitConfigFile    = 66  // a file named in the configuration cannot be opened
	exitInternal      = 70  // the runtime failed (not the program)
	exitNotExecutable = 126 // PROGRAM is not a CloudABI executable for this machine
	exitUnreadable    = 127 // PROGRAM cannot be read
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: cloudabi-run [flags] PROGRAM < config.yaml\n\nRuns the CloudABI executable PROGRAM with the resources named in a YAML\nconfiguration (standard input unless --config is given).\n\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func run(args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudabi-run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "read the configuration from `FILE` instead of standard input")
	memLimit := fs.String("memory-limit", "", "limit the memory the program may map, e.g. 512M or 2G (default: no limit)")
	stack := fs.String("stack-size", "", "size of the main thread's stack, e.g. 8M (default 8M)")
	maxProcs := fs.Int("max-processes", 0, "most processes the program and its children may have at once (default 64)")
	maxThreads := fs.Int("max-threads", 0, "most threads each process may have (default and maximum 4096)")
	maxFDs := fs.Int("max-fds", 0, "most file descriptors each process may have (default 1024, maximum 65536)")
	cpuTime := fs.Duration("cpu-time", 0, "limit the CPU time of each process, e.g. 30s or 5m, rounded up to whole seconds (default: no limit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr, fs)
			return 0
		}
		fmt.Fprintf(stderr, "cloudabi-run: %v (see cloudabi-run --help)\n", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "cloudabi-run: expected exactly one PROGRAM, got %d arguments (see cloudabi-run --help)\n", fs.NArg())
		return exitUsage
	}
	program := fs.Arg(0)
	if *maxProcs < 0 || *maxThreads < 0 || *maxThreads > 4096 || *maxFDs < 0 || *maxFDs > 65536 {
		fmt.Fprintf(stderr, "cloudabi-run: --max-processes must be positive, --max-threads between 1 and 4096, --max-fds between 1 and 65536\n")
		return exitUsage
	}
	if *cpuTime < 0 {
		fmt.Fprintf(stderr, "cloudabi-run: --cpu-time must be positive\n")
		return exitUsage
	}
	opts := &cloudabi.Options{MaxProcesses: *maxProcs, MaxThreads: *maxThreads, MaxFDs: *maxFDs, CPUTime: *cpuTime}
	for _, f := range []struct {
		name, val string
		dst       *uint64
	}{{"memory-limit", *memLimit, &opts.MemoryLimit}, {"stack-size", *stack, &opts.StackSize}} {
		if f.val == "" {
			continue
		}
		n, err := parseSize(f.val)
		if err != nil {
			fmt.Fprintf(stderr, "cloudabi-run: --%s: %v\n", f.name, err)
			return exitUsage
		}
		*f.dst = n
	}

	// Check the program before reading the configuration, so that a typo
	// in PROGRAM is reported as such.
	prog, err := cloudabi.Open(program)
	if err != nil {
		return reportProgramError(stderr, err)
	}
	prog.Close()

	in, name := stdin, "<stdin>"
	if *configPath != "" {
		f, err := os.Open(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "cloudabi-run: cannot read configuration: %v\n", err)
			return exitConfigFile
		}
		defer f.Close()
		in, name = f, *configPath
	}
	cfg, err := config.Parse(in, name)
	if err != nil {
		fmt.Fprintf(stderr, "cloudabi-run: %v\n", err)
		return exitConfig
	}

	opts.Confined = func(_ string, degraded error) {
		if degraded != nil {
			fmt.Fprintf(stderr, "cloudabi-run: warning: %v; the program runs with less isolation (see docs/SECURITY.md)\n", degraded)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	st, err := cloudabi.Run(ctx, program, cfg, opts)
	if err != nil {
		var cerr *config.Error
		switch {
		case errors.As(err, &cerr):
			fmt.Fprintf(stderr, "cloudabi-run: %v\n", err)
			return exitConfigFile
		case isProgramError(err):
			return reportProgramError(stderr, err)
		}
		fmt.Fprintf(stderr, "cloudabi-run: %v\n", err)
		return exitInternal
	}
	if !st.Exited {
		fmt.Fprintf(stderr, "cloudabi-run: %s: %s\n", program, st)
	}
	return st.ShellStatus()
}

func isProgramError(err error) bool {
	var perr *cloudabi.ProgramError
	return errors.As(err, &perr)
}

func reportProgramError(stderr io.Writer, err error) int {
	var perr *cloudabi.ProgramError
	if errors.As(err, &perr) && perr.NotExecutable {
		fmt.Fprintf(stderr, "cloudabi-run: %v\n", err)
		return exitNotExecutable
	}
	fmt.Fprintf(stderr, "cloudabi-run: cannot read program: %v\n", err)
	return exitUnreadable
}

// parseSize parses a byte count with an optional K, M or G suffix (powers
// of 1024).
func parseSize(s string) (uint64, error) {
	mult := uint64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (want a positive number with an optional K, M or G suffix)", s)
	}
	return n * mult, nil
}
