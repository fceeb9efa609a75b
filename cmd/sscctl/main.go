// Command sscctl is the developer and scripting tool of the SSC SDK: list
// readers, watch card events, decode ATRs, send APDUs and run the software
// card on the vpcd virtual reader.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
