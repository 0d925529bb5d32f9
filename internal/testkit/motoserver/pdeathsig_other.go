//go:build !linux

package motoserver

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
