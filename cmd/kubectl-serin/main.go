// Command kubectl-serin is the kubectl plugin for Serin: installed on the
// PATH, it runs as `kubectl serin`. See docs/kubectl-serin.md.
package main

import (
	"os"

	"github.com/serin-dev/serin/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
