// Command celcheck compiles the Sanxiang CRDs with the real apiextensions-apiserver code
// of Kubernetes 1.34 (structural schema, CEL compilation and cost limits: what
// `kubectl apply -f crds/yaml` checks) and runs sample objects through defaulting,
// OpenAPI validation, list-type checks and CEL (transition rules included), as
// kube-apiserver does on create and update. No running cluster is needed.
//
// Usage, from the workspace root (exit status 1 on any failure):
//
//	go -C crds/tools/celcheck run . ../../yaml ../../tests/cel/cases.yaml [MANIFEST...]
//
// Each MANIFEST (e.g. ../../../e2e/fixtures/calendars/2026.yaml) must be accepted.
// The same cases are checked against the Rust validation by crds/tests/cel_cases.rs.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

type crdInfo struct {
	internal   *apiextensions.CustomResourceDefinition
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

type testCase struct {
	CRD    string                 `json:"crd"`
	Name   string                 `json:"name"`
	Valid  bool                   `json:"valid"`
	Expect []string               `json:"expect"`
	Object map[string]interface{} `json:"object"`
	Old    map[string]interface{} `json:"old"`
}

func load(path string) (*crdInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &v1); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &internal, nil); err != nil {
		return nil, err
	}
	if errs := validation.ValidateCustomResourceDefinition(context.TODO(), &internal); len(errs) > 0 {
		return nil, fmt.Errorf("CRD rejected:\n  %s", strings.ReplaceAll(errs.ToAggregate().Error(), ", ", "\n  "))
	}
	var schema *apiextensions.JSONSchemaProps
	if internal.Spec.Validation != nil {
		schema = internal.Spec.Validation.OpenAPIV3Schema
	} else {
		schema = internal.Spec.Versions[0].Schema.OpenAPIV3Schema
	}
	s, err := structuralschema.NewStructural(schema)
	if err != nil {
		return nil, err
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(schema)
	if err != nil {
		return nil, err
	}
	return &crdInfo{&internal, s, sv, cel.NewValidator(s, true, celconfig.PerCallLimit)}, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: celcheck CRD_DIR [CASES_YAML [MANIFEST...]]")
		os.Exit(2)
	}
	dir := os.Args[1]
	crds := map[string]*crdInfo{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	failed := false
	for _, f := range files {
		info, err := load(f)
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", filepath.Base(f), err)
			failed = true
			continue
		}
		fmt.Printf("ok   %s compiles (structural, CEL, cost)\n", filepath.Base(f))
		crds[info.internal.Spec.Names.Plural] = info
	}
	if len(os.Args) > 2 {
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			panic(err)
		}
		cases, err := parseCases(data)
		if err != nil {
			panic(err)
		}
		// Further arguments are manifests (e.g. e2e fixtures) that must be accepted.
		for _, f := range os.Args[3:] {
			obj, err := parseObject(f)
			if err != nil {
				panic(err)
			}
			kind, _ := obj["kind"].(string)
			plural := ""
			for p, info := range crds {
				if info.internal.Spec.Names.Kind == kind {
					plural = p
				}
			}
			cases = append(cases, testCase{CRD: plural, Name: f, Valid: true, Object: obj})
		}
		for _, c := range cases {
			info := crds[c.CRD]
			if info == nil {
				fmt.Printf("FAIL %s: no CRD %s\n", c.Name, c.CRD)
				failed = true
				continue
			}
			structuraldefaulting.Default(c.Object, info.structural)
			errs := apiservervalidation.ValidateCustomResource(nil, c.Object, info.validator)
			errs = append(errs, listtype.ValidateListSetsAndMaps(nil, info.structural, c.Object)...)
			var old interface{}
			if c.Old != nil {
				structuraldefaulting.Default(c.Old, info.structural)
				old = c.Old
			}
			celErrs, _ := info.cel.Validate(context.TODO(), nil, info.structural, c.Object, old, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
			msg := ""
			if len(errs) > 0 {
				msg = errs.ToAggregate().Error()
			}
			ok := (len(errs) == 0) == c.Valid
			for _, e := range c.Expect {
				if !strings.Contains(msg, e) {
					ok = false
				}
			}
			status := "ok  "
			if !ok {
				status = "FAIL"
				failed = true
			}
			fmt.Printf("%s %s: %s\n", status, c.Name, msg)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// parseCases decodes numbers as the API server does (int64 when integral).
func parseCases(data []byte) ([]testCase, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var raw []interface{}
	if err := utiljson.Unmarshal(j, &raw); err != nil {
		return nil, err
	}
	var out []testCase
	for _, r := range raw {
		m := r.(map[string]interface{})
		c := testCase{CRD: m["crd"].(string), Name: m["name"].(string), Valid: m["valid"].(bool)}
		if e, ok := m["expect"].([]interface{}); ok {
			for _, x := range e {
				c.Expect = append(c.Expect, x.(string))
			}
		}
		c.Object, _ = m["object"].(map[string]interface{})
		c.Old, _ = m["old"].(map[string]interface{})
		out = append(out, c)
	}
	return out, nil
}

func parseObject(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var obj map[string]interface{}
	err = utiljson.Unmarshal(j, &obj)
	return obj, err
}
