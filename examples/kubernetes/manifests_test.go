// Package kubernetes holds only the test of the manifests beside it:
// each decodes strictly into its API type (an unknown or misspelt field
// fails), and what must hold together does.
package kubernetes

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// strict decodes YAML into obj as the API server does: a duplicate key,
// an unknown field or a field in the wrong case (encoding/json alone
// matches names case-insensitively) is an error.
func strict(raw []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	errs, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// decode reads one manifest strictly into obj, and checks its kind.
func decode(t *testing.T, file, apiVersion, kind string, obj any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if meta.APIVersion != apiVersion || meta.Kind != kind {
		t.Fatalf("%s: %s %s, want %s %s", file, meta.APIVersion, meta.Kind, apiVersion, kind)
	}
	if err := strict(raw, obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

type manifests struct {
	cm  corev1.ConfigMap
	dep appsv1.Deployment
	ds  appsv1.DaemonSet
	svc corev1.Service
	sm  monitoringv1.ServiceMonitor
	pr  monitoringv1.Probe
	// The TURN load from several machines.
	loadJob, mergeJob batchv1.Job
	reports           corev1.PersistentVolumeClaim
}

func load(t *testing.T) *manifests {
	m := &manifests{}
	decode(t, "configmap.yaml", "v1", "ConfigMap", &m.cm)
	decode(t, "deployment.yaml", "apps/v1", "Deployment", &m.dep)
	decode(t, "daemonset.yaml", "apps/v1", "DaemonSet", &m.ds)
	decode(t, "service.yaml", "v1", "Service", &m.svc)
	decode(t, "servicemonitor.yaml", "monitoring.coreos.com/v1", "ServiceMonitor", &m.sm)
	decode(t, "probe.yaml", "monitoring.coreos.com/v1", "Probe", &m.pr)
	decode(t, "load-job.yaml", "batch/v1", "Job", &m.loadJob)
	decode(t, "load-merge-job.yaml", "batch/v1", "Job", &m.mergeJob)
	decode(t, "load-reports-pvc.yaml", "v1", "PersistentVolumeClaim", &m.reports)
	return m
}

// TestManifestsDecodeStrictly: every file of the directory is one of the
// manifests checked here (a new one needs its check).
func TestManifestsDecodeStrictly(t *testing.T) {
	load(t)
	files, _ := filepath.Glob("*.y*ml")
	known := []string{"configmap.yaml", "deployment.yaml", "daemonset.yaml", "service.yaml", "servicemonitor.yaml", "probe.yaml", "prometheus-scrape.yml",
		"load-job.yaml", "load-merge-job.yaml", "load-reports-pvc.yaml"}
	for _, f := range files {
		if !slices.Contains(known, f) {
			t.Errorf("%s is checked by no test", f)
		}
	}
}

// TestExporterPods: the Deployment and the DaemonSet run `rtcprobe serve`
// as non-root on a read-only root, with no capability, listening on the
// port the Service, the probes and the monitors name, with the config
// from the ConfigMap.
func TestExporterPods(t *testing.T) {
	m := load(t)
	for _, w := range []struct {
		name     string
		selector map[string]string
		tmpl     corev1.PodTemplateSpec
	}{{"Deployment", m.dep.Spec.Selector.MatchLabels, m.dep.Spec.Template}, {"DaemonSet", m.ds.Spec.Selector.MatchLabels, m.ds.Spec.Template}} {
		t.Run(w.name, func(t *testing.T) {
			if !labels.SelectorFromSet(w.selector).Matches(labels.Set(w.tmpl.Labels)) {
				t.Errorf("selector %v does not select the pods %v", w.selector, w.tmpl.Labels)
			}
			if !labels.SelectorFromSet(m.svc.Spec.Selector).Matches(labels.Set(w.tmpl.Labels)) && w.name == "Deployment" {
				t.Errorf("the Service selects %v, not the pods %v", m.svc.Spec.Selector, w.tmpl.Labels)
			}
			pod := w.tmpl.Spec
			c := hardened(t, pod)
			if len(c.Args) == 0 || c.Args[0] != "serve" {
				t.Fatalf("args %v, want serve …", c.Args)
			}
			var port corev1.ContainerPort
			for _, p := range c.Ports {
				if p.Name == "http" {
					port = p
				}
			}
			if port.ContainerPort == 0 || !slices.Contains(c.Args, fmt.Sprintf("--listen=:%d", port.ContainerPort)) {
				t.Errorf("container port http %d is not where serve listens (%v)", port.ContainerPort, c.Args)
			}
			for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				want := map[string]string{"liveness": "/-/healthy", "readiness": "/-/ready"}[name]
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe: want GET %s on port http, got %+v", name, want, p)
				}
			}
			// Every path serve writes is a volume: the root is read-only.
			mounts := map[string]string{}
			for _, vm := range c.VolumeMounts {
				mounts[vm.MountPath] = vm.Name
			}
			for _, a := range c.Args {
				if p, ok := strings.CutPrefix(a, "--db="); ok && mounts[filepath.Dir(p)] == "" {
					t.Errorf("--db %s is not on a volume", p)
				}
				if p, ok := strings.CutPrefix(a, "--config="); ok {
					vol := mounts[filepath.Dir(p)]
					i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vol })
					if i < 0 || pod.Volumes[i].ConfigMap == nil || pod.Volumes[i].ConfigMap.Name != m.cm.Name || m.cm.Data[filepath.Base(p)] == "" {
						t.Errorf("--config %s is not the ConfigMap's %s", p, filepath.Base(p))
					}
				}
			}
			if mounts["/tmp"] == "" {
				t.Error("no writable /tmp")
			}
		})
	}
	if len(m.svc.Spec.Ports) != 1 || m.svc.Spec.Ports[0].Name != "http" || m.svc.Spec.Ports[0].Port != 9781 || m.svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want http 9781 → the pods' http", m.svc.Spec.Ports)
	}
	if m.ds.Spec.Template.Labels["app.kubernetes.io/component"] != "vantage" {
		t.Error("the DaemonSet's pods lack the component label prometheus-scrape.yml keeps")
	}
}

// TestMonitorsName: the ServiceMonitor scrapes the Service's port, and
// the Probe sends its module (one the ConfigMap defines) to the Service.
func TestMonitorsName(t *testing.T) {
	m := load(t)
	if !labels.SelectorFromSet(m.sm.Spec.Selector.MatchLabels).Matches(labels.Set(m.svc.Labels)) {
		t.Errorf("ServiceMonitor selects %v, not the Service %v", m.sm.Spec.Selector.MatchLabels, m.svc.Labels)
	}
	if len(m.sm.Spec.Endpoints) != 1 || m.sm.Spec.Endpoints[0].Port != m.svc.Spec.Ports[0].Name || m.sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics on port %s", m.sm.Spec.Endpoints, m.svc.Spec.Ports[0].Name)
	}
	wantURL := fmt.Sprintf("%s.%s.svc:%d", m.svc.Name, m.svc.Namespace, m.svc.Spec.Ports[0].Port)
	if m.pr.Spec.ProberSpec.URL != wantURL || m.pr.Spec.ProberSpec.Path != "/probe" {
		t.Errorf("Probe's prober %s%s, want %s/probe", m.pr.Spec.ProberSpec.URL, m.pr.Spec.ProberSpec.Path, wantURL)
	}
	modules := configModules(t, m.cm)
	if !slices.Contains(modules, m.pr.Spec.Module) {
		t.Errorf("Probe's module %q is not in the ConfigMap (%v)", m.pr.Spec.Module, modules)
	}
	if st := m.pr.Spec.Targets.StaticConfig; st == nil || len(st.Targets) == 0 || st.Labels["vantage"] == "" {
		t.Error("Probe has no static targets, or no vantage label for the dashboard")
	}
}

// hardened checks a pod runs its one container as non-root, on a
// read-only root, without privilege escalation or any capability, and
// returns the container.
func hardened(t *testing.T, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("the pod may run as root: want runAsNonRoot and a non-zero runAsUser")
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%d containers and %d init containers, want 1 and none", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem not read-only")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("want allowPrivilegeEscalation: false and every capability dropped")
	}
	return c
}

// TestLoadJobs: the load Job is Indexed with N pods at once, each running
// its shard I/N of the same run (one --start-at) and writing its report,
// named by its index, to the shared volume; the merge Job reads exactly
// those N reports from the same volume. Both hardened as the exporter.
func TestLoadJobs(t *testing.T) {
	m := load(t)
	spec := m.loadJob.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion || spec.Completions == nil || spec.Parallelism == nil ||
		*spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("load Job: want completionMode Indexed and parallelism = completions = N > 1, got %v %v %v", spec.CompletionMode, spec.Completions, spec.Parallelism)
	}
	n := int(*spec.Completions)
	c := hardened(t, spec.Template.Spec)
	if len(c.Args) == 0 || c.Args[0] != "load" {
		t.Fatalf("args %v, want load …", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok {
			flags[k] = v
		}
	}
	if want := fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n); flags["--shard"] != want {
		t.Errorf("--shard=%s, want %s: each pod its index of the %d", flags["--shard"], want, n)
	}
	if _, err := time.Parse(time.RFC3339, flags["--start-at"]); err != nil {
		t.Errorf("--start-at=%q: %v", flags["--start-at"], err)
	}
	report := flags["--json"]
	if !strings.Contains(report, "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("--json=%q: each pod needs a file of its own", report)
	}
	claim := func(pod corev1.PodSpec, c corev1.Container, path string) string {
		for _, vm := range c.VolumeMounts {
			if strings.HasPrefix(path, vm.MountPath+"/") {
				for _, v := range pod.Volumes {
					if v.Name == vm.Name && v.PersistentVolumeClaim != nil {
						return v.PersistentVolumeClaim.ClaimName
					}
				}
			}
		}
		return ""
	}
	if got := claim(spec.Template.Spec, c, report); got != m.reports.Name {
		t.Errorf("the reports go to claim %q, not %s", got, m.reports.Name)
	}
	if !slices.Contains(m.reports.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Error("the reports' volume is not ReadWriteMany: pods on several nodes write it")
	}
	mc := hardened(t, m.mergeJob.Spec.Template.Spec)
	var files []string
	for i := range n {
		files = append(files, strings.ReplaceAll(report, "$(JOB_COMPLETION_INDEX)", fmt.Sprint(i)))
	}
	var got []string
	for _, a := range mc.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			got = append(got, a)
		}
	}
	if len(mc.Args) == 0 || mc.Args[0] != "merge" || !slices.Equal(got, files) {
		t.Errorf("merge Job args %v, want merge %v", mc.Args, files)
	}
	for _, f := range files {
		if cl := claim(m.mergeJob.Spec.Template.Spec, mc, f); cl != m.reports.Name {
			t.Errorf("merge reads %s from claim %q, not %s", f, cl, m.reports.Name)
		}
	}
}

func configModules(t *testing.T, cm corev1.ConfigMap) []string {
	t.Helper()
	var c struct{ Modules map[string]any }
	if err := yaml.Unmarshal([]byte(cm.Data["rtcprobe.yml"]), &c); err != nil {
		t.Fatal(err)
	}
	var out []string
	for name := range c.Modules {
		out = append(out, name)
	}
	return out
}

// TestConfigMapValidates: rtcprobe itself accepts the ConfigMap's
// config.
func TestConfigMapValidates(t *testing.T) {
	testenv.Heavy(t, "a build of the binary")
	m := load(t)
	bin, cleanup, err := testenv.Binary()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	file := filepath.Join(t.TempDir(), "rtcprobe.yml")
	if err := os.WriteFile(file, []byte(m.cm.Data["rtcprobe.yml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "validate", "--config", file)
	cmd.Env = append(os.Environ(), "TURN_PASSWORD=x")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rtcprobe validate: %v\n%s", err, out)
	}
}

// scrapeConfig is the part of Prometheus' scrape_config that
// prometheus-scrape.yml uses (Debian's promtool is built without
// Kubernetes discovery, so it cannot check this file).
type scrapeConfig struct {
	JobName             string              `json:"job_name"`
	MetricsPath         string              `json:"metrics_path,omitempty"`
	Params              map[string][]string `json:"params,omitempty"`
	KubernetesSDConfigs []struct {
		Role       string `json:"role"`
		Namespaces struct {
			Names []string `json:"names"`
		} `json:"namespaces"`
	} `json:"kubernetes_sd_configs"`
	RelabelConfigs []relabel `json:"relabel_configs"`
}

type relabel struct {
	SourceLabels []string `json:"source_labels,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Action       string   `json:"action,omitempty"`
	TargetLabel  string   `json:"target_label,omitempty"`
	Replacement  string   `json:"replacement,omitempty"`
}

// apply runs keep and replace rules as Prometheus does (regex anchored,
// source labels joined with ";", default regex (.*) and replacement $1);
// it returns nil when the target is dropped.
func apply(rules []relabel, ls map[string]string) map[string]string {
	out := maps(ls)
	for _, r := range rules {
		vals := make([]string, len(r.SourceLabels))
		for i, l := range r.SourceLabels {
			vals[i] = out[l]
		}
		re := regexp.MustCompile("^(?:" + cmpOr(r.Regex, "(.*)") + ")$")
		v := strings.Join(vals, ";")
		switch cmpOr(r.Action, "replace") {
		case "keep":
			if !re.MatchString(v) {
				return nil
			}
		case "replace":
			if m := re.FindStringSubmatchIndex(v); m != nil {
				out[r.TargetLabel] = string(re.ExpandString(nil, cmpOr(r.Replacement, "$1"), v, m))
			}
		}
	}
	return out
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestScrapeConfigsLabelVantage: each job keeps only the DaemonSet's
// pods on their http port, names the module (one the ConfigMap has) and
// a target, and labels the series with the pod's node as vantage and the
// probed URI as instance.
func TestScrapeConfigsLabelVantage(t *testing.T) {
	m := load(t)
	raw, err := os.ReadFile("prometheus-scrape.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
	}
	if err := strict(raw, &cfg); err != nil {
		t.Fatalf("prometheus-scrape.yml: %v", err)
	}
	modules := configModules(t, m.cm)
	pod := map[string]string{
		"__address__":                                             "10.1.2.3:9781",
		"__meta_kubernetes_pod_node_name":                         "node-a",
		"__meta_kubernetes_pod_container_port_name":               "http",
		"__meta_kubernetes_pod_label_app_kubernetes_io_component": m.ds.Spec.Template.Labels["app.kubernetes.io/component"],
	}
	other := maps(pod)
	other["__meta_kubernetes_pod_label_app_kubernetes_io_component"] = ""
	probes := 0
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.KubernetesSDConfigs) != 1 || sc.KubernetesSDConfigs[0].Role != "pod" || !slices.Contains(sc.KubernetesSDConfigs[0].Namespaces.Names, m.ds.Namespace) {
			t.Errorf("%s: want pod discovery in %s", sc.JobName, m.ds.Namespace)
		}
		in := maps(pod)
		if sc.MetricsPath == "/probe" {
			probes++
			if len(sc.Params["module"]) != 1 || !slices.Contains(modules, sc.Params["module"][0]) || len(sc.Params["target"]) != 1 {
				t.Errorf("%s: params %v, want one module of the ConfigMap (%v) and one target", sc.JobName, sc.Params, modules)
				continue
			}
			in["__param_target"] = sc.Params["target"][0]
		}
		got := apply(sc.RelabelConfigs, in)
		if got == nil {
			t.Errorf("%s drops the DaemonSet's pod", sc.JobName)
			continue
		}
		if got["vantage"] != "node-a" {
			t.Errorf("%s: vantage %q, want the node's name", sc.JobName, got["vantage"])
		}
		if sc.MetricsPath == "/probe" && got["instance"] != sc.Params["target"][0] {
			t.Errorf("%s: instance %q, want the target", sc.JobName, got["instance"])
		}
		if apply(sc.RelabelConfigs, other) != nil {
			t.Errorf("%s keeps pods that are not the DaemonSet's", sc.JobName)
		}
	}
	if probes == 0 {
		t.Error("no /probe job")
	}
}
