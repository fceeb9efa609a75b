// Command printversion prints version.Get(); TestLinkerFlags builds it.
package main

import (
	"fmt"

	"github.com/sscard/ssc/internal/version"
)

func main() { fmt.Print(version.Get()) }
