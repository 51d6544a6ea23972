package gen

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

var refRE = regexp.MustCompile(`\[([a-z0-9_]+(\.[a-z0-9_]+)*)\]`)

// mdText renders a documentation line as Markdown: references such as
// [fd_read] become code spans, and table separators are escaped.
func mdText(s string) string {
	return refRE.ReplaceAllString(s, "`$1`")
}

// GenerateMarkdown returns docs/SYSCALLS.md.
func GenerateMarkdown(s *spec.Spec) ([]byte, error) {
	var b bytes.Buffer
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	pf("<!-- %s -->", Header)
	pf("")
	pf("# CloudABI system calls")
	pf("")
	pf("CloudABI has %d system calls. Their numbers follow the order in which they", len(s.Syscalls))
	pf("appear in the ABI definition. Programs invoke them through the vDSO entry")
	pf("points `cloudabi_sys_<name>`; the wrappers in `sdk/include/cloudabi_syscalls.h`")
	pf("have the prototypes listed below.")
	pf("")
	pf("Parameters are passed in this order: every input parameter, where a range")
	pf("is passed as a pointer followed by its length (`name_len`), then every")
	pf("output parameter as a pointer to where the result is stored. All system")
	pf("calls return `cloudabi_errno_t`, except those marked `_Noreturn`.")
	pf("")
	pf("| # | Name | C prototype |")
	pf("|--:|------|-------------|")
	for _, sc := range s.Syscalls {
		pf("| %d | [`%s`](#%s) | `%s` |", sc.Number, sc.Name, sc.Name, CPrototype(s, sc))
	}
	for _, sc := range s.Syscalls {
		pf("")
		pf("## %s", sc.Name)
		pf("")
		pf("```c")
		pf("%s;", CPrototype(s, sc))
		pf("```")
		pf("")
		pf("Syscall number %d.", sc.Number)
		if len(sc.Doc) > 0 {
			pf("")
			for _, l := range sc.Doc {
				pf("%s", strings.TrimRight(mdText(l), " "))
			}
		}
		params := func(title string, ps []*spec.Param) {
			if len(ps) == 0 {
				return
			}
			pf("")
			pf("%s:", title)
			pf("")
			for _, p := range ps {
				line := fmt.Sprintf("- `%s` (`%s`)", p.Name, p.Type)
				if d := summaryAll(p.Doc); d != "" {
					line += ": " + mdText(d)
					if len(p.Allowed) > 0 {
						line += " Allowed values:"
					}
				} else if len(p.Allowed) > 0 {
					line += ": allowed values:"
				}
				pf("%s", line)
				for _, a := range p.Allowed {
					pf("  - `%s`: %s", a.Name, mdText(summaryAll(a.Doc)))
				}
			}
		}
		params("Inputs", sc.In)
		params("Outputs", sc.Out)
		if sc.NoReturn {
			pf("")
			pf("This system call does not return.")
		}
	}
	return b.Bytes(), nil
}

// summaryAll joins all lines of a documentation block into one line.
func summaryAll(doc []string) string {
	var parts []string
	for _, l := range doc {
		if t := strings.TrimSpace(l); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}
