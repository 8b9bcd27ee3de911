// yamloracle: Kubernetes' own YAML -> JSON conversion, as a test oracle.
//
// Reads a multi-document YAML stream on stdin, splits it into documents the
// way kubectl does (k8s.io/apimachinery's YAML reader), converts each with
// sigs.k8s.io/yaml.YAMLToJSON (what kubectl apply sends), and prints one
// line per non-empty document: the JSON re-encoded canonically (sorted
// keys, Go's number formatting), or "ERROR: <message>".  Test tool only;
// never part of the product.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(os.Stdin, 1<<20))
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(out, "ERROR: %v\n", err)
			return
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			fmt.Fprintf(out, "ERROR: %v\n", err)
			continue
		}
		if string(j) == "null" {
			continue
		}
		var v interface{}
		d := json.NewDecoder(bytes.NewReader(j))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			fmt.Fprintf(out, "ERROR: %v\n", err)
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(out, "ERROR: %v\n", err)
			continue
		}
		out.Write(buf.Bytes())
	}
}

// stripComments drops whole-line comments, so a document of only comments
// counts as empty, as kubectl treats it.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] == '#' {
			continue
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
