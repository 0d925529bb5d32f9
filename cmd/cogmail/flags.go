package main

// Flag parsing every command shares: help on stdout with exit 0; an unknown
// flag named, with the nearest known one, and no page of usage.

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// parseFlags parses args with fs, flags and operands in any order (a lone
// "--" ends the flags), and returns the operands. When the command must stop
// here it returns false and the exit code: 0 after --help (the usage went to
// stdout), 2 after a bad flag (said on stderr, with "did you mean").
// fs.Usage must write to fs.Output().
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, int, bool) {
	if name, ok := unknownFlag(fs, args); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		fmt.Fprintf(e.stderr, "%s: unknown flag %s%s\n(%s --help lists the flags)\n", fs.Name(), name, didYouMean(strings.TrimLeft(name, "-"), known, "--"), fs.Name())
		return nil, exitUsage, false
	}
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	fs.SetOutput(e.stderr)
	var rest []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			usage()
			return nil, exitOK, false
		}
		if err != nil {
			return nil, exitUsage, false // the flag package said what is wrong
		}
		if fs.NArg() == 0 {
			return rest, exitOK, true
		}
		if len(fs.Args()) < len(args) && args[len(args)-len(fs.Args())-1] == "--" {
			return append(rest, fs.Args()...), exitOK, true
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// unknownFlag finds the first flag in args that fs does not define (-h and
// -help aside), skipping the values of flags that take one.
func unknownFlag(fs *flag.FlagSet, args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", false
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return strings.SplitN(a, "=", 2)[0], true
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if !hasValue {
			i++ // its value
		}
	}
	return "", false
}

// parseNoOperands is parseFlags for a command that takes flags only: an
// operand is said on stderr ("cogmail invoke: unexpected argument") and
// stops it with exit 2.
func parseNoOperands(e *env, fs *flag.FlagSet, args []string) (int, bool) {
	rest, code, ok := parseFlags(e, fs, args)
	if ok && len(rest) > 0 {
		fmt.Fprintf(e.stderr, "%s: unexpected argument %q\n", fs.Name(), rest[0])
		return exitUsage, false
	}
	return code, ok
}
