// faultproxy: a fault-injecting HTTP proxy in front of a real kube-apiserver.
//
// Test tool only (never part of the product). It listens on plain HTTP,
// forwards every request to the upstream apiserver over TLS (headers,
// including Authorization, pass through), streams responses chunk by chunk
// so watches work, and, where a rule matches, injects what a real server
// will not produce on demand.
//
// Usage:
//
//	faultproxy -listen 127.0.0.1:0 -upstream https://127.0.0.1:6443 \
//	    -upstream-ca ca.crt -port-file port [-script rules.json]
//
// Rules are a JSON array; the first matching rule applies. Fields:
//
//	method      "GET", ... (empty: any)
//	path        regular expression on the URL path (empty: any)
//	query       substring of the raw query, e.g. "watch=true" (empty: any)
//	after       skip the first N matching requests (default 0)
//	count       apply to at most K requests, then pass through (0: always)
//	action      one of:
//	  status             answer `status` with a Kubernetes Status body
//	                     (`reason`, `message`), plus Retry-After if `retry_after`
//	  watch_error_after  forward a watch, pass `events` events, then send an
//	                     ERROR event with a Status of `status` (default 410,
//	                     reason Expired) and end the stream
//	  reset_after        pass `bytes` bytes of the response, then abort the
//	                     TCP connection (the client sees a reset stream)
//	  delay              hold the response `delay_ms` before its headers
//	  stall              pass `bytes` bytes, then hold `delay_ms`, then go on
//	  enlarge            forward, then pad the body to at least `size` bytes
//	                     (inserted into the top-level JSON object, still JSON)
//	  drop               accept and never answer, until the client gives up
//
// Control API (never forwarded): POST /__faults/rules (replace the rules),
// DELETE /__faults/rules, GET /__faults/log (requests seen, JSON),
// POST /__faults/reset-log.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

type Rule struct {
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Query      string `json:"query,omitempty"`
	After      int    `json:"after,omitempty"`
	Count      int    `json:"count,omitempty"`
	Action     string `json:"action"`
	Status     int    `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Message    string `json:"message,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	Events     int    `json:"events,omitempty"`
	Bytes      int    `json:"bytes,omitempty"`
	DelayMS    int    `json:"delay_ms,omitempty"`
	Size       int    `json:"size,omitempty"`

	re      *regexp.Regexp
	matched int
	applied int
}

type Entry struct {
	Time   string `json:"time"`
	Method string `json:"method"`
	URL    string `json:"url"`
	Fault  string `json:"fault,omitempty"`
	Status int    `json:"status"`
}

type proxy struct {
	mu       sync.Mutex
	rules    []*Rule
	log      []Entry
	upstream string
	client   *http.Client
}

func (p *proxy) setRules(data []byte) error {
	var rules []*Rule
	if err := json.Unmarshal(data, &rules); err != nil {
		return err
	}
	for _, r := range rules {
		if r.Path != "" {
			re, err := regexp.Compile(r.Path)
			if err != nil {
				return err
			}
			r.re = re
		}
	}
	p.mu.Lock()
	p.rules = rules
	p.mu.Unlock()
	return nil
}

// match returns a copy of the rule that applies to r, or nil.
func (p *proxy) match(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.Method != "" && rule.Method != r.Method {
			continue
		}
		if rule.re != nil && !rule.re.MatchString(r.URL.Path) {
			continue
		}
		if rule.Query != "" && !strings.Contains(r.URL.RawQuery, rule.Query) {
			continue
		}
		rule.matched++
		if rule.matched <= rule.After {
			continue
		}
		if rule.Count > 0 && rule.applied >= rule.Count {
			continue
		}
		rule.applied++
		c := *rule
		return &c
	}
	return nil
}

func (p *proxy) record(r *http.Request, fault string, status int) {
	p.mu.Lock()
	p.log = append(p.log, Entry{time.Now().UTC().Format(time.RFC3339Nano), r.Method,
		r.URL.RequestURI(), fault, status})
	p.mu.Unlock()
}

func statusBody(code int, reason, message string) []byte {
	b, _ := json.Marshal(map[string]interface{}{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]interface{}{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
	return b
}

func (p *proxy) control(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/__faults/rules" && r.Method == "POST":
		data, _ := io.ReadAll(r.Body)
		if err := p.setRules(data); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	case r.URL.Path == "/__faults/rules" && r.Method == "DELETE":
		p.mu.Lock()
		p.rules = nil
		p.mu.Unlock()
	case r.URL.Path == "/__faults/log" && r.Method == "GET":
		p.mu.Lock()
		b, _ := json.Marshal(p.log)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	case r.URL.Path == "/__faults/reset-log" && r.Method == "POST":
		p.mu.Lock()
		p.log = nil
		p.mu.Unlock()
	default:
		http.Error(w, "unknown control request", 404)
		return
	}
	w.WriteHeader(204)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__faults/") {
		p.control(w, r)
		return
	}
	rule := p.match(r)
	action := ""
	if rule != nil {
		action = rule.Action
	}
	switch action {
	case "status":
		if rule.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(rule.RetryAfter))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rule.Status)
		w.Write(statusBody(rule.Status, rule.Reason, rule.Message))
		p.record(r, action, rule.Status)
		return
	case "drop":
		p.record(r, action, 0)
		<-r.Context().Done()
		return
	case "delay":
		time.Sleep(time.Duration(rule.DelayMS) * time.Millisecond)
	}
	p.forward(w, r, rule)
}

func (p *proxy) forward(w http.ResponseWriter, r *http.Request, rule *Rule) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(),
		bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.record(r, "upstream-error", 502)
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	action := ""
	if rule != nil {
		action = rule.Action
	}
	p.record(r, action, resp.StatusCode)
	if action == "enlarge" {
		data, _ := io.ReadAll(resp.Body)
		if pad := rule.Size - len(data); pad > 0 && len(data) > 1 && data[0] == '{' {
			filler := `"cfluxPadding":"` + strings.Repeat("x", pad) + `",`
			data = append([]byte("{"+filler), data[1:]...)
		} else if pad > 0 {
			data = append(data, bytes.Repeat([]byte(" "), pad)...)
		}
		copyHeaders(w, resp)
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
		return
	}
	copyHeaders(w, resp)
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32*1024)
	sent, events := 0, 0
	stalled := false
	for {
		n, err := resp.Body.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			part := chunk
			switch action {
			case "reset_after", "stall":
				if left := rule.Bytes - sent; left >= 0 && left < len(part) {
					part = part[:left]
				}
			case "watch_error_after":
				if i := bytes.IndexByte(part, '\n'); i >= 0 {
					part = part[:i+1]
				}
			}
			w.Write(part)
			sent += len(part)
			chunk = chunk[len(part):]
			if flusher != nil {
				flusher.Flush()
			}
			if action == "watch_error_after" && bytes.HasSuffix(part, []byte("\n")) {
				events++
				if events >= rule.Events {
					code := rule.Status
					if code == 0 {
						code = 410
					}
					reason := rule.Reason
					if reason == "" {
						reason = "Expired"
					}
					msg := rule.Message
					if msg == "" {
						msg = "too old resource version (injected)"
					}
					ev, _ := json.Marshal(map[string]interface{}{"type": "ERROR",
						"object": json.RawMessage(statusBody(code, reason, msg))})
					w.Write(append(ev, '\n'))
					if flusher != nil {
						flusher.Flush()
					}
					return
				}
			}
			if (action == "reset_after" || action == "stall") && sent >= rule.Bytes {
				if action == "reset_after" {
					abort(w)
					return
				}
				if !stalled {
					stalled = true
					time.Sleep(time.Duration(rule.DelayMS) * time.Millisecond)
				}
				action = ""
			}
		}
		if err != nil {
			if action == "reset_after" {
				abort(w)
			}
			return
		}
	}
}

func copyHeaders(w http.ResponseWriter, resp *http.Response) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
}

// abort closes the client connection without finishing the response.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream apiserver URL")
	caFile := flag.String("upstream-ca", "", "CA bundle of the upstream")
	portFile := flag.String("port-file", "", "write the port here once listening")
	script := flag.String("script", "", "rules JSON file")
	flag.Parse()
	if *upstream == "" {
		log.Fatal("faultproxy: -upstream is required")
	}
	// A test that fails before stopping us must not leave us behind
	// (holding its runner's output pipe open): go when our parent goes.
	ppid := os.Getppid()
	go func() {
		for range time.Tick(200 * time.Millisecond) {
			if os.Getppid() != ppid {
				os.Exit(0)
			}
		}
	}()
	tlsConf := &tls.Config{}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tlsConf.RootCAs = pool
	}
	p := &proxy{upstream: strings.TrimSuffix(*upstream, "/"), client: &http.Client{
		Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true},
	}}
	if *script != "" {
		data, err := os.ReadFile(*script)
		if err != nil {
			log.Fatal(err)
		}
		if err := p.setRules(data); err != nil {
			log.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		tmp := *portFile + ".tmp"
		os.WriteFile(tmp, []byte(fmt.Sprint(port)), 0o644)
		os.Rename(tmp, *portFile)
	}
	log.Fatal(http.Serve(ln, p))
}
