// SPDX-License-Identifier: Apache-2.0

// helm-render renders a Helm chart the way `helm template` does, for machines where Helm
// cannot be installed. It covers what kbnet's chart uses: Go text/template with the sprig
// function library plus Helm's own functions (include, tpl, required, toYaml, fromYaml,
// toJson, fromJson, lookup; YAML through sigs.k8s.io/yaml as Helm), the .Values/.Release/.Chart/.Capabilities/.Template objects,
// values files (-f) and --set, partials (_*.tpl) and NOTES.txt. It is not Helm: no hooks,
// subcharts, schemas, .Files globbing or post-renderers.
//
//	helm-render template CHART [--name N] [--namespace NS] [-f FILE]... [--set K=V]... [--notes] [-o yaml|json]
//	helm-render objects FILE...   (plain multi-document manifests to a JSON array)
//	helm-render values CHART [-f FILE]... [--set K=V]...   (the merged values as JSON, which
//	                              Helm checks against the chart's values.schema.json)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	yamlv3 "gopkg.in/yaml.v3"
	yaml "sigs.k8s.io/yaml"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "helm-render: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		die("usage: helm-render template CHART [flags] | objects FILE...")
	}
	switch os.Args[1] {
	case "template":
		cmdTemplate(os.Args[2:])
	case "objects":
		cmdObjects(os.Args[2:])
	case "values":
		cmdValues(os.Args[2:])
	default:
		die("unknown command %q", os.Args[1])
	}
}

// ---- values ----

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// Helm reads Chart.yaml and values files with sigs.k8s.io/yaml (YAML to JSON, then
	// encoding/json): numbers become float64, as templates see them under Helm.
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

// mergeValues merges src into dst as Helm does for values files: maps merge recursively,
// anything else replaces, and null deletes the key.
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			mergeValues(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// parseSetValue types a --set value like Helm's strvals: booleans, integers, null, {a,b}
// lists, else a string.
func parseSetValue(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		var l []interface{}
		for _, it := range strings.Split(s[1:len(s)-1], ",") {
			if it != "" {
				l = append(l, parseSetValue(it))
			}
		}
		return l
	}
	return s
}

func applySet(vals map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: want key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	v := parseSetValue(expr[eq+1:])
	if v == nil {
		delete(m, keys[len(keys)-1])
	} else {
		m[keys[len(keys)-1]] = v
	}
	return nil
}

// ---- Helm's functions ----

// toYAML is Helm's toYaml: sigs.k8s.io/yaml (JSON tags, yaml.v2 layout: a list nested in a
// map is not indented under its key), trailing newline trimmed, "" on error.
func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func funcMap(root **template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: templates must not read the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := (*root).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := (*root).Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	// No cluster here: lookup finds nothing, as with `helm template`.
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

// ---- rendering ----

// loadValues: the chart's values.yaml, then each values file, then each --set, as Helm.
func loadValues(dir string, valueFiles, sets []string) (map[string]interface{}, error) {
	vals, err := readYAMLMap(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range valueFiles {
		m, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		mergeValues(vals, m)
	}
	for _, s := range sets {
		if err := applySet(vals, s); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

type rendered struct {
	name, text string
}

func renderChart(dir, name, ns string, valueFiles, sets []string, notes bool) ([]rendered, error) {
	chart, err := readYAMLMap(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	chartName, _ := chart["name"].(string)
	if chartName == "" {
		return nil, fmt.Errorf("%s/Chart.yaml: no name", dir)
	}
	vals, err := loadValues(dir, valueFiles, sets)
	if err != nil {
		return nil, err
	}
	// .Chart as Helm exposes chart metadata: capitalised field names.
	chartObj := map[string]interface{}{}
	for k, v := range chart {
		switch k {
		case "apiVersion":
			chartObj["APIVersion"] = v
		case "appVersion":
			chartObj["AppVersion"] = v
		case "kubeVersion":
			chartObj["KubeVersion"] = v
		default:
			chartObj[strings.ToUpper(k[:1])+k[1:]] = v
		}
	}
	release := map[string]interface{}{"Name": name, "Namespace": ns, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1}
	caps := map[string]interface{}{
		"KubeVersion": map[string]interface{}{"Version": "v1.29.0", "Major": "1", "Minor": "29",
			"GitVersion": "v1.29.0"},
		"HelmVersion": map[string]interface{}{"Version": "v3.14.0"},
	}

	var files []string
	err = filepath.Walk(filepath.Join(dir, "templates"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var root *template.Template
	root = template.New(chartName).Funcs(funcMap(&root))
	var names []string
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		tname := chartName + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if _, err := root.New(tname).Parse(string(data)); err != nil {
			return nil, err
		}
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") || (base == "NOTES.txt" && !notes) {
			continue
		}
		names = append(names, tname)
	}
	var out []rendered
	for _, tname := range names {
		top := map[string]interface{}{
			"Values": vals, "Release": release, "Chart": chartObj, "Capabilities": caps,
			"Template": map[string]interface{}{"Name": tname,
				"BasePath": chartName + "/templates"},
			"Files": map[string]interface{}{},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, top); err != nil {
			return nil, err
		}
		out = append(out, rendered{tname, strings.ReplaceAll(buf.String(), "<no value>", "")})
	}
	return out, nil
}

// splitDocs parses a multi-document YAML stream; empty documents are dropped. (Parsing for
// the tests' JSON output only: yaml.v3 reads streams, sigs.k8s.io/yaml one document.)
func splitDocs(name, text string) ([]interface{}, error) {
	dec := yamlv3.NewDecoder(strings.NewReader(text))
	var docs []interface{}
	for {
		var v interface{}
		err := dec.Decode(&v)
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
	return docs, nil
}

func printJSON(v interface{}) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		die("%v", err)
	}
	fmt.Println(string(data))
}

func cmdTemplate(args []string) {
	fs := flag.NewFlagSet("template", flag.ExitOnError)
	name := fs.String("name", "kbnet", "release name")
	ns := fs.String("namespace", "kbnet", "release namespace")
	out := fs.String("o", "yaml", "yaml or json")
	notes := fs.Bool("notes", false, "render NOTES.txt too (yaml output only)")
	var only multiFlag
	fs.Var(&only, "s", "only this template, e.g. templates/rbac.yaml (repeatable, like --show-only)")
	var files, sets multiFlag
	fs.Var(&files, "f", "values file (repeatable)")
	fs.Var(&sets, "set", "key=value (repeatable)")
	if len(args) < 1 {
		die("template: no chart directory")
	}
	dir := args[0]
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		die("template: bad arguments")
	}
	docs, err := renderChart(dir, *name, *ns, files, sets, *notes)
	if err != nil {
		die("%v", err)
	}
	if len(only) > 0 {
		var kept []rendered
		for _, d := range docs {
			for _, o := range only {
				if strings.HasSuffix(d.name, "/"+o) {
					kept = append(kept, d)
				}
			}
		}
		if len(kept) == 0 {
			die("no template matches %v", []string(only))
		}
		docs = kept
	}
	if *out == "yaml" {
		for _, d := range docs {
			if strings.TrimSpace(d.text) == "" {
				continue
			}
			if strings.HasSuffix(d.name, "NOTES.txt") {
				fmt.Printf("NOTES:\n%s\n", d.text)
				continue
			}
			fmt.Printf("---\n# Source: %s\n%s\n", d.name, strings.TrimLeft(d.text, "\n"))
		}
		return
	}
	var objs []interface{}
	for _, d := range docs {
		if strings.HasSuffix(d.name, "NOTES.txt") {
			continue
		}
		o, err := splitDocs(d.name, d.text)
		if err != nil {
			die("%v", err)
		}
		objs = append(objs, o...)
	}
	if objs == nil {
		objs = []interface{}{}
	}
	printJSON(objs)
}

func cmdObjects(args []string) {
	objs := []interface{}{}
	for _, f := range args {
		data, err := os.ReadFile(f)
		if err != nil {
			die("%v", err)
		}
		o, err := splitDocs(f, string(data))
		if err != nil {
			die("%v", err)
		}
		objs = append(objs, o...)
	}
	printJSON(objs)
}

func cmdValues(args []string) {
	fs := flag.NewFlagSet("values", flag.ExitOnError)
	var files, sets multiFlag
	fs.Var(&files, "f", "values file (repeatable)")
	fs.Var(&sets, "set", "key=value (repeatable)")
	if len(args) < 1 {
		die("values: no chart directory")
	}
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		die("values: bad arguments")
	}
	vals, err := loadValues(args[0], files, sets)
	if err != nil {
		die("%v", err)
	}
	printJSON(vals)
}
