package main

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
)

// Every scheduled task is listed in `tandem worker --help`, and every task listed
// there is scheduled: the help says what the scheduler does.
func TestWorkerHelpListsTheScheduledTasks(t *testing.T) {
	a := testApp(t)
	var scheduled []string
	for _, task := range a.tasks() {
		if task.Cron != "" {
			scheduled = append(scheduled, task.Type+" "+task.Cron)
		}
	}
	listed := regexp.MustCompile(`(?m)^  ([a-z]+:[a-z0-9_:-]+) +(\S+(?: \S+){0,4}?) {2,}`).FindAllStringSubmatch(workerHelp, -1)
	var inHelp []string
	for _, m := range listed {
		inHelp = append(inHelp, m[1]+" "+m[2])
	}
	slices.Sort(scheduled)
	slices.Sort(inHelp)
	if !slices.Equal(scheduled, inHelp) {
		t.Fatalf("scheduled %q, but tandem worker --help lists %q", scheduled, inHelp)
	}
}

// Every domain has the one front door: it is a domain.Domain with a name, and every
// task type it registers starts with its name.
func TestEveryDomainHasTheOneShape(t *testing.T) {
	a := testApp(t)
	seen := map[string]bool{}
	for _, d := range a.domains() {
		name := d.Name()
		if name == "" || seen[name] {
			t.Fatalf("domain %T has the name %q (empty or twice)", d, name)
		}
		seen[name] = true
		r := domain.Collect(d)
		for _, task := range r.Tasks() {
			if !strings.HasPrefix(task.Type, name+":") {
				t.Errorf("%s registers task %s outside its name", name, task.Type)
			}
		}
	}
	for _, want := range []string{"merchant", "consumer", "matching", "billing", "reconciliation"} {
		if !seen[want] {
			t.Errorf("domain %s is not built by cmd/tandem", want)
		}
	}
}

// The dependency rules of ARCHITECTURE.md, checked on the import graph of the
// non-test packages: shared never imports a domain; merchant and consumer use only
// shared; matching reads merchant and consumer; billing reads merchant and consumer;
// reconciliation reads billing; nothing but cmd/tandem imports cmd.
func TestDependencyRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "github.com/tandemcrm/tandem/...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	const mod = "github.com/tandemcrm/tandem/"
	allowed := map[string][]string{
		"shared":         {"shared"},
		"merchant":       {"shared", "merchant"},
		"consumer":       {"shared", "consumer"},
		"matching":       {"shared", "matching", "merchant", "consumer"},
		"billing":        {"shared", "billing", "merchant", "consumer"},
		"reconciliation": {"shared", "reconciliation", "billing", "merchant", "consumer"},
		"cmd":            {"shared", "merchant", "consumer", "matching", "billing", "reconciliation", "cmd"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		top := strings.SplitN(strings.TrimPrefix(p.ImportPath, mod), "/", 2)[0]
		ok, known := allowed[top]
		if !known {
			t.Errorf("%s is in no agreed top-level folder", p.ImportPath)
			continue
		}
		checked++
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, mod) {
				continue
			}
			dtop := strings.SplitN(strings.TrimPrefix(d, mod), "/", 2)[0]
			if !slices.Contains(ok, dtop) {
				t.Errorf("%s imports %s: %s may use only %v", p.ImportPath, d, top, ok)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d packages checked: go list did not list the module", checked)
	}
}
