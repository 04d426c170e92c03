// A line-oriented oracle for the Duration property tests (tests/test_duration.py): one request
// per line on stdin, one answer per line on stdout, flushed at once, so a single process serves
// every Hypothesis example of a test session.
//
//	F <int64>          -> Duration(n).String()
//	P <hex of text>    -> "D <int64>" or "E <error text>" from time.ParseDuration
//	M <int64> <int64>  -> d.Round(m) d.Truncate(m) d.Abs() and d.Hours/Minutes/Seconds as floats
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func num(s string) time.Duration {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return time.Duration(n)
}

func flt(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func answer(line string) string {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "F":
		return num(rest).String()
	case "P":
		text, err := hex.DecodeString(rest)
		if err != nil {
			panic(err)
		}
		d, err := time.ParseDuration(string(text))
		if err != nil {
			return "E " + err.Error()
		}
		return "D " + strconv.FormatInt(int64(d), 10)
	case "M":
		a, b, _ := strings.Cut(rest, " ")
		d, m := num(a), num(b)
		return fmt.Sprintf("%d %d %d %s %s %s", int64(d.Round(m)), int64(d.Truncate(m)),
			int64(d.Abs()), flt(d.Hours()), flt(d.Minutes()), flt(d.Seconds()))
	}
	panic("unknown request " + line)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		out.WriteString(answer(in.Text()) + "\n")
		out.Flush()
	}
}
