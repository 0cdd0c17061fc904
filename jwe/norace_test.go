//go:build !race

package jwe

const raceEnabled = false
