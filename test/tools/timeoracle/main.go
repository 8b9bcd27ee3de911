// timeoracle: Go's time package, as a test oracle for lib/tmpl/gotime.c.
//
// Reads cases on stdin, one a line, tab-separated (\t \n \\ \xHH escapes):
//
//	format SEC NSEC ZONE LAYOUT   time.Unix(SEC, NSEC).In(LoadLocation(ZONE)).Format(LAYOUT)
//	parse LAYOUT VALUE            ParseInLocation(LAYOUT, VALUE, Local): String() and Unix(), or the error
//	date Y M D h m s ns ZONE      Date(...).String()
//
// and prints one line per case; test/tools/timecheck.c prints the same.
// Test tool only.
package main

import (
	"bufio"
	"fmt"
	"os"
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
		}
	}
	return b.String()
}

func esc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func main() {
	in := bufio.NewScanner(os.Stdin)
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
		switch f[0] {
		case "format":
			loc, err := time.LoadLocation(f[3])
			if err != nil {
				fmt.Fprintln(out, "error:", esc(err.Error()))
				continue
			}
			fmt.Fprintln(out, esc(time.Unix(atoi(f[1]), atoi(f[2])).In(loc).Format(f[4])))
		case "parse":
			t, err := time.ParseInLocation(f[1], f[2], time.Local)
			if err != nil {
				fmt.Fprintln(out, "error:", esc(err.Error()))
				continue
			}
			fmt.Fprintln(out, esc(t.String()), t.Unix())
		case "date":
			loc, err := time.LoadLocation(f[8])
			if err != nil {
				fmt.Fprintln(out, "error:", esc(err.Error()))
				continue
			}
			t := time.Date(int(atoi(f[1])), time.Month(atoi(f[2])), int(atoi(f[3])), int(atoi(f[4])), int(atoi(f[5])), int(atoi(f[6])), int(atoi(f[7])), loc)
			fmt.Fprintln(out, esc(t.String()), t.Unix())
		default:
			fmt.Fprintln(out, "bad op", f[0])
		}
	}
}
