package main

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Size is a byte count written as "512MiB", "1.5GB" or "4096" in the config
// and on the command line. BurntSushi/toml decodes it through UnmarshalText.
type Size int64

var sizeRe = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?\s*$`)

var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"K": 1 << 10, "KiB": 1 << 10, "Ki": 1 << 10, "KB": 1e3,
	"M": 1 << 20, "MiB": 1 << 20, "Mi": 1 << 20, "MB": 1e6,
	"G": 1 << 30, "GiB": 1 << 30, "Gi": 1 << 30, "GB": 1e9,
	"T": 1 << 40, "TiB": 1 << 40, "Ti": 1 << 40, "TB": 1e12,
}

// UnmarshalText reads a size: a number and an optional unit, B, KiB, MiB,
// GiB, TiB (powers of 1024; K, M, G, T too) or KB, MB, GB, TB (powers of 1000).
func (s *Size) UnmarshalText(b []byte) error {
	m := sizeRe.FindStringSubmatch(string(b))
	if m == nil {
		return fmt.Errorf("%q is not a size (e.g. \"512MiB\")", b)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*sizeUnits[m[2]] > 1<<62 {
		return fmt.Errorf("%q is not a size (e.g. \"512MiB\")", b)
	}
	*s = Size(f * sizeUnits[m[2]])
	return nil
}

// String writes the size with the largest binary unit that divides it.
func (s Size) String() string {
	for _, u := range []string{"TiB", "GiB", "MiB", "KiB"} {
		if n := int64(sizeUnits[u]); s != 0 && int64(s)%n == 0 {
			return fmt.Sprintf("%d%s", int64(s)/n, u)
		}
	}
	return fmt.Sprintf("%dB", int64(s))
}

// Set and Type make a Size a command-line flag value.
func (s *Size) Set(v string) error { return s.UnmarshalText([]byte(v)) }

// Type names the value in flag help.
func (s *Size) Type() string { return "SIZE" }

// Duration is a time.Duration written as "30s" or "5m" in the config and on
// the command line. A bare number is refused (it would be nanoseconds).
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration ("90s", "5m", "1h30m"), not negative.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (e.g. \"5m\")", b)
	}
	d.Duration = v
	return nil
}

// Set makes a Duration a command-line flag value.
func (d *Duration) Set(v string) error { return d.UnmarshalText([]byte(v)) }

// Type names the value in flag help.
func (d *Duration) Type() string { return "DURATION" }

// Mode is a set of permission bits (file_mode, dir_mode, umask): a string
// of octal digits ("0644", "022") or a TOML octal number (0o644).
type Mode uint32

// UnmarshalTOML reads "0644" or 0o644 from the config; a decimal number
// such as 644 is refused, as it is almost always meant as octal.
func (m *Mode) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return m.Set(v)
	case int64:
		if v < 0 || v > 0o777 {
			return fmt.Errorf("%d is not a mode: write it as a string of octal digits, e.g. \"0644\", or 0o644", v)
		}
		*m = Mode(v)
		return nil
	}
	return fmt.Errorf("%v is not a mode (e.g. \"0644\")", v)
}

// Set reads octal digits, as mount options and flags give them.
func (m *Mode) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("%q is not a mode (octal, at most 0777, e.g. \"0644\")", s)
	}
	*m = Mode(n)
	return nil
}

func (m Mode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// Type names the value in flag help.
func (m *Mode) Type() string { return "MODE" }
