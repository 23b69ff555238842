package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxName is the longest file name the kernel accepts (NAME_MAX).
const maxName = 255

// Sanitize turns s into a usable file name: '/' and NUL become '_', invalid
// UTF-8 is replaced, and the result is cut to 255 bytes at a rune boundary.
// It returns "" when nothing usable is left ("", ".", "..").
func Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "_")
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if len(s) > maxName {
		cut := maxName
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if s == "." || s == ".." {
		return ""
	}
	return s
}

// uniqueNames keeps names unique within one folder. It is deterministic:
// the same sequence of wishes always gives the same names.
type uniqueNames map[string]bool

// take returns want (sanitised) when it is free, else want with a "~N"
// suffix; fallback is used when want is unusable.
func (u uniqueNames) take(want, fallback string) string {
	name := Sanitize(want)
	if name == "" {
		name = Sanitize(fallback)
	}
	if name == "" {
		name = "_"
	}
	if !u[name] {
		u[name] = true
		return name
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf("~%d", i)
		base := name
		if len(base)+len(suffix) > maxName {
			base = Sanitize(base[:maxName-len(suffix)])
		}
		if c := base + suffix; !u[c] {
			u[c] = true
			return c
		}
	}
}
