// gooracle: Go's regexp and time packages, as test oracles for
// lib/base/regex.c and lib/tmpl/gotime.c (test/tools/gocheck.c is the C side).
//
// Reads cases on stdin, one a line: tab-separated fields, each unescaped
// from \t \n \\ \xHH.  The first field is the operation; for the regexp
// operations the second is the pattern:
//
//	compile PAT            ok, or the error
//	match PAT S            MatchString
//	find PAT S             FindString
//	findall PAT S N        FindAllString(S, N)
//	index PAT S            FindAllStringSubmatchIndex(S, -1)
//	replace PAT S REPL     ReplaceAllString
//	literal PAT S REPL     ReplaceAllLiteralString
//	split PAT S N          Split(S, N)
//	quote PAT              QuoteMeta(PAT)
//	format SEC NSEC ZONE LAYOUT   time.Unix(SEC, NSEC).In(LoadLocation(ZONE)).Format(LAYOUT)
//	parse LAYOUT VALUE            ParseInLocation(LAYOUT, VALUE, Local): String() and Unix(), or the error
//	date Y M D h m s ns ZONE      Date(...).String() and Unix()
//
// and prints one line per case (see esc for the encoding).  Test tool only.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func unesc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case '\\':
			b.WriteByte('\\')
		case 'x':
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func esc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && c != '\\' && c != ',' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

func list(ss []string) string {
	if ss == nil {
		return "nil"
	}
	var e []string
	for _, s := range ss {
		e = append(e, esc(s))
	}
	return "[" + strings.Join(e, ",") + "]"
}

// timeCase runs a time operation; false if op is not one.
func timeCase(out *bufio.Writer, f []string) bool {
	atoi := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	switch f[0] {
	case "format":
		loc, err := time.LoadLocation(f[3])
		if err != nil {
			fmt.Fprintln(out, "error:", esc(err.Error()))
			return true
		}
		fmt.Fprintln(out, esc(time.Unix(atoi(f[1]), atoi(f[2])).In(loc).Format(f[4])))
	case "parse":
		t, err := time.ParseInLocation(f[1], f[2], time.Local)
		if err != nil {
			fmt.Fprintln(out, "error:", esc(err.Error()))
			return true
		}
		fmt.Fprintln(out, esc(t.String()), t.Unix())
	case "date":
		loc, err := time.LoadLocation(f[8])
		if err != nil {
			fmt.Fprintln(out, "error:", esc(err.Error()))
			return true
		}
		t := time.Date(int(atoi(f[1])), time.Month(atoi(f[2])), int(atoi(f[3])), int(atoi(f[4])), int(atoi(f[5])), int(atoi(f[6])), int(atoi(f[7])), loc)
		fmt.Fprintln(out, esc(t.String()), t.Unix())
	default:
		return false
	}
	return true
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		line := in.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		for i := range f {
			f[i] = unesc(f[i])
		}
		for len(f) < 9 {
			f = append(f, "")
		}
		if timeCase(out, f) {
			continue
		}
		if f[0] == "quote" {
			fmt.Fprintln(out, esc(regexp.QuoteMeta(f[1])))
			continue
		}
		re, err := regexp.Compile(f[1])
		if err != nil {
			fmt.Fprintln(out, "error:", esc(err.Error()))
			continue
		}
		n, _ := strconv.Atoi(f[3])
		switch f[0] {
		case "compile":
			fmt.Fprintln(out, "ok", re.NumSubexp())
		case "match":
			fmt.Fprintln(out, re.MatchString(f[2]))
		case "find":
			fmt.Fprintln(out, esc(re.FindString(f[2])))
		case "findall":
			fmt.Fprintln(out, list(re.FindAllString(f[2], n)))
		case "index":
			fmt.Fprintln(out, re.FindAllStringSubmatchIndex(f[2], -1))
		case "replace":
			fmt.Fprintln(out, esc(re.ReplaceAllString(f[2], f[3])))
		case "literal":
			fmt.Fprintln(out, esc(re.ReplaceAllLiteralString(f[2], f[3])))
		case "split":
			fmt.Fprintln(out, list(re.Split(f[2], n)))
		default:
			fmt.Fprintln(out, "bad op", f[0])
		}
	}
}
