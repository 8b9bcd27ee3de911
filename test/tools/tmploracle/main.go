// tmploracle: the reference renderer for lib/tmpl's differential tests.
//
// Reads the template cases of test/data/tmpl (format: test/data/tmpl/README.md)
// from the files named on the command line and prints, for each case, what the
// real implementation renders:
//
//	oracle=helm  Helm v3.21.4's own engine (pkg/engine.Render) on a one-chart
//	             release, exactly what `helm template` runs: Sprig, include,
//	             tpl, toYaml..., missingkey=zero, "<no value>" stripped, Helm's
//	             error rewriting.
//	oracle=go    Go's text/template alone (no functions beyond the builtins),
//	             with the case's missingkey option and the values as dot.
//
// Output, per case: "@@@@ NAME\n", then per rendered file in name order
// "@@ FILE LEN\n" + LEN bytes + "\n", or "@@ ERROR LEN\n" + message + "\n".
// Test tool only; never part of the product.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

type file struct {
	name string
	data string
}

type tcase struct {
	name  string
	opts  map[string]string
	files []file
}

func parseCases(text string) ([]*tcase, error) {
	var cases []*tcase
	var cur *tcase
	var sect *file
	var nonl bool
	lines := strings.SplitAfter(text, "\n")
	flush := func() {
		if cur != nil && sect != nil {
			if nonl {
				sect.data = strings.TrimSuffix(sect.data, "\n")
			}
			cur.files = append(cur.files, *sect)
		}
		sect = nil
	}
	for _, line := range lines {
		if line == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "@@@@ "):
			flush()
			f := strings.Fields(strings.TrimSpace(line[5:]))
			if len(f) == 0 {
				return nil, fmt.Errorf("case without a name")
			}
			cur = &tcase{name: f[0], opts: map[string]string{}}
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				cur.opts[k] = v
			}
			cases = append(cases, cur)
			sect = &file{name: "templates/t.yaml"}
			nonl = false
		case cur != nil && strings.HasPrefix(line, "@@ "):
			flush()
			f := strings.Fields(strings.TrimSpace(line[3:]))
			sect = &file{name: f[0]}
			nonl = len(f) > 1 && f[1] == "nonl"
		case cur == nil:
			// header comment
		default:
			sect.data += line
		}
	}
	flush()
	// An empty leading t.yaml (the case starts with a section) is dropped.
	for _, c := range cases {
		var keep []file
		for i, f := range c.files {
			if i == 0 && f.name == "templates/t.yaml" && f.data == "" && len(c.files) > 1 && c.files[1].name != "templates/t.yaml" {
				continue
			}
			keep = append(keep, f)
		}
		c.files = keep
	}
	return cases, nil
}

func emit(w *bufio.Writer, tag, data string) {
	fmt.Fprintf(w, "@@ %s %d\n%s\n", tag, len(data), data)
}

// Helm's parse order (engine.sortTemplates): by depth, then bytewise, reversed.
func helmOrder(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
		if ca == cb {
			return a > b
		}
		return ca > cb
	})
}

func runHelm(w *bufio.Writer, c *tcase) {
	chrt := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "t", Version: "0.1.0"},
		Values:   map[string]interface{}{},
	}
	var user map[string]interface{}
	for _, f := range c.files {
		switch {
		case f.name == "values.yaml":
			v, err := chartutil.ReadValues([]byte(f.data))
			if err != nil {
				emit(w, "ERROR", "values: "+err.Error())
				return
			}
			user = v
		case strings.HasPrefix(f.name, "templates/"):
			chrt.Templates = append(chrt.Templates, &chart.File{Name: f.name, Data: []byte(f.data)})
		}
	}
	if user == nil {
		user = map[string]interface{}{}
	}
	opts := chartutil.ReleaseOptions{Name: "release-name", Namespace: "default", Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(chrt, user, opts, chartutil.DefaultCapabilities)
	if err != nil {
		emit(w, "ERROR", err.Error())
		return
	}
	out, err := engine.Render(chrt, vals)
	if err != nil {
		emit(w, "ERROR", err.Error())
		return
	}
	var names []string
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		emit(w, k, out[k])
	}
}

func runGo(w *bufio.Writer, c *tcase) {
	t := template.New("gotpl")
	if mk := c.opts["missingkey"]; mk != "" {
		t.Option("missingkey=" + mk)
	}
	var data interface{}
	var names []string
	texts := map[string]string{}
	for _, f := range c.files {
		switch {
		case f.name == "values.yaml":
			var m map[string]interface{}
			if err := yaml.Unmarshal([]byte(f.data), &m); err != nil {
				emit(w, "ERROR", "values: "+err.Error())
				return
			}
			data = m
		case strings.HasPrefix(f.name, "templates/"):
			names = append(names, f.name)
			texts[f.name] = f.data
		}
	}
	helmOrder(names)
	for _, n := range names {
		if _, err := t.New(n).Parse(texts[n]); err != nil {
			emit(w, "ERROR", err.Error())
			return
		}
	}
	sort.Strings(names)
	for _, n := range names {
		base := n[strings.LastIndex(n, "/")+1:]
		if strings.HasPrefix(base, "_") {
			continue
		}
		var sb strings.Builder
		if err := t.ExecuteTemplate(&sb, n, data); err != nil {
			emit(w, "ERROR", err.Error())
			return
		}
		emit(w, n, sb.String())
	}
}

func main() {
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	for _, path := range os.Args[1:] {
		text, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		cases, err := parseCases(string(text))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		stem := path[strings.LastIndex(path, "/")+1:]
		stem = strings.TrimSuffix(stem, ".cases")
		for _, c := range cases {
			fmt.Fprintf(w, "@@@@ %s/%s\n", stem, c.name)
			func() {
				defer func() {
					if r := recover(); r != nil {
						emit(w, "ERROR", fmt.Sprintf("panic: %v", r))
					}
				}()
				if c.opts["oracle"] == "go" {
					runGo(w, c)
				} else {
					runHelm(w, c)
				}
			}()
		}
	}
}
