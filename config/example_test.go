package config_test

import (
	"fmt"
	"strings"

	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/config"
)

func ExampleParse() {
	const hello = `%TAG ! tag:nuxi.nl,2015:cloudabi/
---
- !fd stdout
- !fd stdout
- !fd stdout
`
	cfg, err := config.Parse(strings.NewReader(hello), "hello.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("argdata:", cfg.Argdata)
	for i, g := range cfg.Grants {
		fmt.Printf("guest fd %d: %v\n", i, g)
	}
	enc, _ := argdata.Marshal(cfg.Argdata)
	fmt.Printf("encoded: % x\n", enc)
	// Output:
	// argdata: [!fd 0, !fd 0, !fd 0]
	// guest fd 0: host fd 1 (hello.yaml:3:3)
	// encoded: 07 85 03 00 00 00 00 85 03 00 00 00 00 85 03 00 00 00 00
}

func ExampleError() {
	_, err := config.Parse(strings.NewReader("- !fd stdin\n"), "config.yaml")
	fmt.Println(err)
	// Output:
	// config.yaml:1:3: unknown descriptor name "stdin" for !fd (names are stdout and stderr; write !fd 0 for standard input)
}

func ExampleParse_fileAttributes() {
	const logger = `%TAG ! tag:nuxi.nl,2015:cloudabi/
---
in: !fd 0
log: !file {path: app.log, mode: append, create: true}
site: !file {path: /srv/www, mode: read}
`
	cfg, err := config.Parse(strings.NewReader(logger), "logger.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, g := range cfg.Grants {
		fmt.Printf("guest fd %d: %v\n", i, g)
	}
	_, err = config.Parse(strings.NewReader("log: !file {path: app.log, mode: rw}\n"), "bad.yaml")
	fmt.Println(err)
	// Output:
	// guest fd 0: host fd 0 (logger.yaml:3:5)
	// guest fd 1: file "app.log" mode append, create (logger.yaml:4:6)
	// guest fd 2: file "/srv/www" mode read (logger.yaml:5:7)
	// bad.yaml:1:34: !file mode must be one of read, write, readwrite, append, not "rw"
}
