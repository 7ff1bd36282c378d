package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const (
	release   = "hub"
	namespace = "fangxin"
	fullname  = "hub-fangxin"
)

// A render case: values on top of the chart's defaults, and what must come out.
type renderCase struct {
	name   string
	files  []string // values files under the chart, in order
	values string   // YAML on top of them
	// wantErr: the render must fail with a message containing each of these.
	wantErr []string
	// notInErr: strings the failure must not echo (credentials).
	notInErr []string
	check    func(m *manifest) []string
}

var cases = []renderCase{
	{
		name:    "defaults fail naming the missing backend settings",
		wantErr: []string{"kafkaBrokers (FANGXIN_KAFKA_BROKERS) is required", "elasticsearchUrl (FANGXIN_ELASTICSEARCH_URL) is required"},
	},
	{
		name:  "distributed: gateway and projector Deployments, Service, settings Secret, keys, PDBs",
		files: []string{"ci/distributed-values.yaml"},
		check: func(m *manifest) []string {
			var p problems
			gw := m.deployment(&p, fullname+"-gateway")
			pj := m.deployment(&p, fullname+"-projector")
			m.absent(&p, "StatefulSet", fullname)
			if gw != nil {
				p.eq("gateway replicas", *gw.Spec.Replicas, int32(3))
				c := container(&p, gw.Spec.Template.Spec)
				p.eq("gateway args", c.Args, []string{"serve", "--role", "gateway"})
				p.probe("gateway readiness", c.ReadinessProbe, "/readyz", "http")
				p.probe("gateway liveness", c.LivenessProbe, "/healthz", "http")
				p.eq("gateway port", c.Ports[0].ContainerPort, int32(8080))
				p.check("gateway cpu request", !c.Resources.Requests.Cpu().IsZero())
				p.check("gateway memory limit", !c.Resources.Limits.Memory().IsZero())
				p.check("gateway GOMEMLIMIT is its memory limit", memLimitEnv(c))
				p.eq("gateway keys volume", volumeSecret(gw.Spec.Template.Spec, "data"), fullname+"-keys")
				p.eq("gateway data mount read-only", mount(c, "data").ReadOnly, true)
				p.eq("gateway data mount path", mount(c, "data").MountPath, "/var/lib/fangxin")
				p.eq("gateway rolls with no capacity loss", gw.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue(), 0)
				p.check("gateway spreads over nodes", len(gw.Spec.Template.Spec.TopologySpreadConstraints) == 1)
			}
			if pj != nil {
				p.eq("projector replicas", *pj.Spec.Replicas, int32(6))
				c := container(&p, pj.Spec.Template.Spec)
				p.eq("projector args", c.Args, []string{"serve", "--role", "projector"})
				p.check("projector has no probes (no HTTP in role projector)", c.ReadinessProbe == nil && c.LivenessProbe == nil && len(c.Ports) == 0)
				p.check("projector GOMEMLIMIT is its memory limit", memLimitEnv(c))
				p.check("projector grace covers the router's 30 s close", *pj.Spec.Template.Spec.TerminationGracePeriodSeconds >= 35)
			}
			sec := m.secret(&p, fullname+"-settings")
			if sec != nil {
				p.eq("FANGXIN_KAFKA_BROKERS", sec.StringData["FANGXIN_KAFKA_BROKERS"], "kafka-0.kafka:9092,kafka-1.kafka:9092")
				p.eq("FANGXIN_ELASTICSEARCH_URL (list joined)", sec.StringData["FANGXIN_ELASTICSEARCH_URL"],
					"https://elastic:changeme@es-0.es:9200,https://elastic:changeme@es-1.es:9200")
			}
			keys := m.secret(&p, fullname+"-keys")
			if keys != nil {
				var recs []map[string]any
				p.check("keys.json is JSON", json.Unmarshal([]byte(keys.StringData["keys.json"]), &recs) == nil && len(recs) == 1)
			}
			cm := m.configMap(&p, fullname)
			if cm != nil {
				p.eq("FANGXIN_LISTEN", cm.Data["FANGXIN_LISTEN"], "0.0.0.0:8080")
				p.eq("FANGXIN_LOG_LEVEL", cm.Data["FANGXIN_LOG_LEVEL"], "info")
				p.eq("FANGXIN_DATA_DIR", cm.Data["FANGXIN_DATA_DIR"], "/var/lib/fangxin")
				_, demo := cm.Data["FANGXIN_DEMO"]
				p.eq("no FANGXIN_DEMO", demo, false)
			}
			p.eq("Service selects the gateways only", m.selectedBy(fullname), []string{"Deployment/" + fullname + "-gateway"})
			p.eq("gateway PDB selects the gateways", m.pdbSelects(&p, fullname+"-gateway"), []string{"Deployment/" + fullname + "-gateway"})
			p.eq("projector PDB selects the projectors", m.pdbSelects(&p, fullname+"-projector"), []string{"Deployment/" + fullname + "-projector"})
			m.absent(&p, "ServiceMonitor", fullname)
			m.absent(&p, "PrometheusRule", fullname)
			return p
		},
	},
	{
		name:  "distributed with existing Secrets, projector HTTP and every monitoring object",
		files: []string{"ci/monitoring-values.yaml"},
		check: func(m *manifest) []string {
			var p problems
			m.absent(&p, "Secret", fullname+"-settings")
			m.absent(&p, "Secret", fullname+"-keys")
			if gw := m.deployment(&p, fullname+"-gateway"); gw != nil {
				c := container(&p, gw.Spec.Template.Spec)
				p.check("gateway reads the existing settings Secret", envFromSecret(c, "fangxin-backends"))
				p.eq("gateway keys volume", volumeSecret(gw.Spec.Template.Spec, "data"), "fangxin-keys")
			}
			if pj := m.deployment(&p, fullname+"-projector"); pj != nil {
				c := container(&p, pj.Spec.Template.Spec)
				p.probe("projector readiness", c.ReadinessProbe, "/readyz", "http")
				p.probe("projector liveness", c.LivenessProbe, "/healthz", "http")
			}
			p.eq("projector metrics Service", m.selectedBy(fullname+"-projector"), []string{"Deployment/" + fullname + "-projector"})
			if pdb := m.pdb(&p, fullname+"-projector"); pdb != nil {
				p.check("projector PDB minAvailable", pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() == 1 && pdb.Spec.MaxUnavailable == nil)
			}
			if sm := m.custom(&p, "ServiceMonitor", fullname); sm != nil {
				p.eq("ServiceMonitor jobLabel", dig(sm, "spec", "jobLabel"), "app.kubernetes.io/part-of")
				p.eq("ServiceMonitor release label", dig(sm, "metadata", "labels", "release"), "kube-prometheus-stack")
				sel, _ := dig(sm, "spec", "selector", "matchLabels").(map[string]any)
				var scraped []string
				for _, s := range m.services {
					if labelsMatch(toStrings(sel), s.Labels) {
						scraped = append(scraped, s.Name)
						p.eq("job label of Service "+s.Name, s.Labels["app.kubernetes.io/part-of"], "fangxin")
					}
				}
				sort.Strings(scraped)
				p.eq("ServiceMonitor scrapes the gateway and projector Services", scraped, []string{fullname, fullname + "-projector"})
				eps, _ := dig(sm, "spec", "endpoints").([]any)
				p.check("ServiceMonitor endpoint on port http /metrics", len(eps) == 1 &&
					dig(eps[0], "port") == "http" && dig(eps[0], "path") == "/metrics")
			}
			if pr := m.custom(&p, "PrometheusRule", fullname); pr != nil {
				var file map[string]any
				p.check("rules file parses", readYAML(filepath.Join(m.chartDir, "rules", "fangxin.rules.yml"), &file) == nil)
				p.check("PrometheusRule carries rules/fangxin.rules.yml unchanged", reflect.DeepEqual(dig(pr, "spec"), file))
			}
			if cm := m.configMap(&p, fullname+"-dashboard"); cm != nil {
				want, _ := os.ReadFile(filepath.Join(m.chartDir, "dashboards", "fangxin.json"))
				p.eq("dashboard ConfigMap carries dashboards/fangxin.json", strings.TrimSpace(cm.Data["fangxin.json"]), strings.TrimSpace(string(want)))
				p.eq("dashboard sidecar label", cm.Labels["grafana_dashboard"], "1")
			}
			return p
		},
	},
	{
		name:  "embedded: one StatefulSet pod, role all, PVC, no backends",
		files: []string{"ci/embedded-values.yaml"},
		check: func(m *manifest) []string {
			var p problems
			m.absent(&p, "Deployment", fullname+"-gateway")
			m.absent(&p, "Deployment", fullname+"-projector")
			m.absent(&p, "Secret", fullname+"-settings")
			m.absent(&p, "PodDisruptionBudget", fullname+"-gateway")
			if len(m.objects) != 5 {
				p = append(p, fmt.Sprintf("embedded renders ConfigMap, ServiceAccount, 2 Services, StatefulSet; got %v", m.names()))
			}
			if st := m.statefulSet(&p, fullname); st != nil {
				p.eq("replicas", *st.Spec.Replicas, int32(1))
				p.eq("serviceName", st.Spec.ServiceName, fullname+"-headless")
				c := container(&p, st.Spec.Template.Spec)
				p.eq("args", c.Args, []string{"serve", "--role", "all"})
				p.probe("startup", c.StartupProbe, "/healthz", "http")
				p.probe("readiness", c.ReadinessProbe, "/readyz", "http")
				p.probe("liveness", c.LivenessProbe, "/healthz", "http")
				p.eq("data on the PVC at dataDir", mount(c, "data").MountPath, "/var/lib/fangxin")
				p.eq("data writable", mount(c, "data").ReadOnly, false)
				p.eq("no settings Secret referenced", envFromSecret(c, fullname+"-settings"), false)
				if p.check("one volumeClaimTemplate", len(st.Spec.VolumeClaimTemplates) == 1) {
					pvc := st.Spec.VolumeClaimTemplates[0]
					p.eq("PVC name", pvc.Name, "data")
					p.eq("PVC size", pvc.Spec.Resources.Requests.Storage().String(), "5Gi")
					p.eq("PVC storageClass", *pvc.Spec.StorageClassName, "standard")
				}
			}
			if cm := m.configMap(&p, fullname); cm != nil {
				p.eq("FANGXIN_LOG_LEVEL", cm.Data["FANGXIN_LOG_LEVEL"], "debug")
			}
			p.eq("Service selects the pod", m.selectedBy(fullname), []string{"StatefulSet/" + fullname})
			p.eq("headless Service selects the pod", m.selectedBy(fullname+"-headless"), []string{"StatefulSet/" + fullname})
			return p
		},
	},
	{
		name:   "embedded demo sets FANGXIN_DEMO=1; custom listen moves the port",
		files:  []string{"ci/embedded-values.yaml"},
		values: "demo: true\nlisten: ':9090'\nfullnameOverride: fx\n",
		check: func(m *manifest) []string {
			var p problems
			if cm := m.configMap(&p, "fx"); cm != nil {
				p.eq("FANGXIN_DEMO", cm.Data["FANGXIN_DEMO"], "1")
				p.eq("FANGXIN_LISTEN", cm.Data["FANGXIN_LISTEN"], ":9090")
			}
			if st := m.statefulSet(&p, "fx"); st != nil {
				p.eq("container port follows listen", container(&p, st.Spec.Template.Spec).Ports[0].ContainerPort, int32(9090))
			}
			return p
		},
	},
	{
		name:    "demo outside embedded mode is refused",
		files:   []string{"ci/distributed-values.yaml"},
		values:  "demo: true\n",
		wantErr: []string{"demo (FANGXIN_DEMO): the demo loads into the embedded log only"},
	},
	{
		name:    "embedded mode with Kafka settings is refused",
		files:   []string{"ci/embedded-values.yaml"},
		values:  "kafkaBrokers: kafka:9092\n",
		wantErr: []string{"embedded.enabled runs the embedded log and views"},
	},
	{
		name:     "malformed brokers and Elasticsearch URL are named, the URL's credentials not echoed",
		values:   "kafkaBrokers: kafka-0,kafka-1:9092\nelasticsearchUrl: es-user:s3cret@es:9200\n",
		wantErr:  []string{`kafkaBrokers (FANGXIN_KAFKA_BROKERS): "kafka-0" is not host:port`, "elasticsearchUrl (FANGXIN_ELASTICSEARCH_URL): URL number 1 must start with http:// or https://"},
		notInErr: []string{"s3cret"},
	},
	{
		name:    "an unknown log level is refused by the values schema",
		files:   []string{"ci/distributed-values.yaml"},
		values:  "logLevel: verbose\n",
		wantErr: []string{"logLevel"},
	},
	{
		name:    "a misspelt setting is refused by the values schema",
		files:   []string{"ci/distributed-values.yaml"},
		values:  "kafkaBroker: kafka:9092\n",
		wantErr: []string{"kafkaBroker"},
	},
	{
		name:    "listen without a port is refused",
		files:   []string{"ci/distributed-values.yaml"},
		values:  "listen: 0.0.0.0\n",
		wantErr: []string{"listen"},
	},
}

func runRender(chartDir string) error {
	chartDir, _ = filepath.Abs(chartDir)
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return err
	}
	var failed []string

	// helm lint, with each CI values file (the defaults alone fail by design: no backend).
	ciFiles, _ := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if len(ciFiles) == 0 {
		return fmt.Errorf("no ci/*-values.yaml in %s", chartDir)
	}
	for _, f := range ciFiles {
		vals, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return err
		}
		l := lint.All(chartDir, vals, namespace, true)
		var msgs []string
		for _, m := range l.Messages {
			if m.Severity > support.InfoSev {
				msgs = append(msgs, m.Error())
			}
		}
		name := "lint " + filepath.Base(f)
		if len(msgs) > 0 {
			failed = append(failed, name)
			fmt.Printf("FAIL %s\n  %s\n", name, strings.Join(msgs, "\n  "))
		} else {
			fmt.Printf("ok   %s\n", name)
		}
	}

	for _, c := range cases {
		probs := renderOne(chrt, chartDir, c)
		if len(probs) > 0 {
			failed = append(failed, c.name)
			fmt.Printf("FAIL render: %s\n  %s\n", c.name, strings.Join(probs, "\n  "))
		} else {
			fmt.Printf("ok   render: %s\n", c.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d chart check(s) failed", len(failed))
	}
	return nil
}

func runTemplate(chartDir string, valueFiles []string) error {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return err
	}
	vals := map[string]any{}
	for _, f := range valueFiles {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return err
		}
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	out, err := render(chrt, vals)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.TrimSpace(out[n]) == "" || strings.HasPrefix(filepath.Base(n), "_") {
			continue
		}
		if strings.HasSuffix(n, "NOTES.txt") {
			fmt.Fprintf(os.Stderr, "# %s\n%s\n", n, out[n])
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", n, strings.TrimSpace(out[n]))
	}
	return nil
}

func renderOne(chrt *chart.Chart, chartDir string, c renderCase) []string {
	vals := map[string]any{}
	for _, f := range c.files {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			return []string{err.Error()}
		}
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	if c.values != "" {
		v, err := chartutil.ReadValues([]byte(c.values))
		if err != nil {
			return []string{err.Error()}
		}
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	out, err := render(chrt, vals)
	if c.wantErr != nil {
		if err == nil {
			return []string{"rendered, but must fail with: " + strings.Join(c.wantErr, "; ")}
		}
		var p []string
		for _, w := range c.wantErr {
			if !strings.Contains(err.Error(), w) {
				p = append(p, fmt.Sprintf("error does not say %q: %v", w, err))
			}
		}
		for _, w := range c.notInErr {
			if strings.Contains(err.Error(), w) {
				p = append(p, fmt.Sprintf("error echoes %q", w))
			}
		}
		return p
	}
	if err != nil {
		return []string{err.Error()}
	}
	m, probs := decode(out, chartDir)
	if len(probs) > 0 {
		return probs
	}
	probs = append(probs, m.wiring()...)
	if c.check != nil {
		probs = append(probs, c.check(m)...)
	}
	return probs
}

// render is `helm template` without the binary: values coalesced with the chart's defaults,
// validated against values.schema.json, rendered in strict mode (a template reading a value
// that does not exist fails).
func render(chrt *chart.Chart, vals map[string]any) (map[string]string, error) {
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(chrt, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(chrt, rv)
}

type object struct {
	file, kind, name string
	labels           map[string]string
	typed            runtime.Object
	raw              map[string]any
}

type manifest struct {
	chartDir string
	objects  []object
	services []*corev1.Service
}

var codecs = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)

var customKinds = map[string]bool{"monitoring.coreos.com/v1/ServiceMonitor": true, "monitoring.coreos.com/v1/PrometheusRule": true}

var reDoc = regexp.MustCompile(`(?m)^---\s*$`)

// decode splits the rendered files into objects, decoding each built-in kind strictly into its
// Go type (an unknown or duplicate field is an error, as `kubectl apply --validate=strict`).
func decode(files map[string]string, chartDir string) (*manifest, []string) {
	m := &manifest{chartDir: chartDir}
	var p []string
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, file := range names {
		if strings.HasSuffix(file, "NOTES.txt") || strings.HasPrefix(filepath.Base(file), "_") {
			continue
		}
		for _, doc := range reDoc.Split(files[file], -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var raw map[string]any
			if err := yaml.UnmarshalStrict([]byte(doc), &raw); err != nil {
				p = append(p, fmt.Sprintf("%s: not valid YAML: %v", file, err))
				continue
			}
			o := object{file: file, raw: raw}
			o.kind, _ = raw["kind"].(string)
			o.name, _ = dig(raw, "metadata", "name").(string)
			o.labels = toStrings(dig(raw, "metadata", "labels"))
			gvk := fmt.Sprint(raw["apiVersion"], "/", o.kind)
			obj, _, err := codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
			switch {
			case err == nil:
				o.typed = obj
			case runtime.IsNotRegisteredError(err) && customKinds[gvk]:
			default:
				p = append(p, fmt.Sprintf("%s: %s %s: %v", file, gvk, o.name, err))
				continue
			}
			key := o.kind + "/" + o.name
			if seen[key] {
				p = append(p, "rendered twice: "+key)
			}
			seen[key] = true
			for _, e := range validation.IsDNS1123Subdomain(o.name) {
				p = append(p, fmt.Sprintf("%s: name %q: %s", key, o.name, e))
			}
			if len(o.name) > 63 {
				p = append(p, fmt.Sprintf("%s: name longer than 63 characters", key))
			}
			if o.labels["app.kubernetes.io/instance"] != release || o.labels["app.kubernetes.io/part-of"] != "fangxin" {
				p = append(p, key+": missing the chart's standard labels")
			}
			if s, ok := obj.(*corev1.Service); ok {
				m.services = append(m.services, s)
			}
			m.objects = append(m.objects, o)
		}
	}
	return m, p
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// A workload's pod template.
type pods struct {
	key      string
	selector map[string]string
	template corev1.PodTemplateSpec
}

func (m *manifest) workloads() []pods {
	var out []pods
	for _, o := range m.objects {
		switch w := o.typed.(type) {
		case *appsv1.Deployment:
			out = append(out, pods{"Deployment/" + w.Name, w.Spec.Selector.MatchLabels, w.Spec.Template})
		case *appsv1.StatefulSet:
			out = append(out, pods{"StatefulSet/" + w.Name, w.Spec.Selector.MatchLabels, w.Spec.Template})
		}
	}
	return out
}

// wiring checks what the API server would accept but a running release would trip on: selectors
// that miss their pods, references to ConfigMaps and Secrets that are not there, named ports
// that no container declares.
func (m *manifest) wiring() []string {
	var p problems
	have := map[string]bool{}
	for _, o := range m.objects {
		have[o.kind+"/"+o.name] = true
	}
	external := map[string]bool{"Secret/fangxin-backends": true, "Secret/fangxin-keys": true}
	ref := func(what, key string) {
		if !have[key] && !external[key] {
			p = append(p, fmt.Sprintf("%s refers to %s, which is not rendered", what, key))
		}
	}
	for _, w := range m.workloads() {
		p.check(w.key+": selector matches its pod template", len(w.selector) > 0 && labelsMatch(w.selector, w.template.Labels))
		spec := w.template.Spec
		if spec.ServiceAccountName != "" && spec.ServiceAccountName != "default" {
			ref(w.key, "ServiceAccount/"+spec.ServiceAccountName)
		}
		vols := map[string]bool{}
		for _, v := range spec.Volumes {
			vols[v.Name] = true
			if v.Secret != nil {
				ref(w.key+" volume "+v.Name, "Secret/"+v.Secret.SecretName)
			}
		}
		if st, ok := m.find("StatefulSet", strings.TrimPrefix(w.key, "StatefulSet/")).(*appsv1.StatefulSet); ok {
			for _, t := range st.Spec.VolumeClaimTemplates {
				vols[t.Name] = true
			}
		}
		for _, c := range spec.Containers {
			ports := map[string]bool{}
			for _, pt := range c.Ports {
				ports[pt.Name] = true
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					ref(w.key+" envFrom", "ConfigMap/"+ef.ConfigMapRef.Name)
				}
				if ef.SecretRef != nil {
					ref(w.key+" envFrom", "Secret/"+ef.SecretRef.Name)
				}
			}
			for _, vm := range c.VolumeMounts {
				p.check(fmt.Sprintf("%s: mount %s has a volume", w.key, vm.Name), vols[vm.Name])
			}
			for name, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if pr != nil && pr.HTTPGet != nil && pr.HTTPGet.Port.StrVal != "" {
					p.check(fmt.Sprintf("%s: %s probe port %q is declared", w.key, name, pr.HTTPGet.Port.StrVal), ports[pr.HTTPGet.Port.StrVal])
				}
			}
		}
	}
	for _, s := range m.services {
		sel := m.selectedBy(s.Name)
		p.check("Service/"+s.Name+" selects a workload", len(sel) > 0)
		for _, w := range m.workloads() {
			if !labelsMatch(s.Spec.Selector, w.template.Labels) {
				continue
			}
			for _, sp := range s.Spec.Ports {
				if name := sp.TargetPort.StrVal; name != "" {
					found := false
					for _, c := range w.template.Spec.Containers {
						for _, cp := range c.Ports {
							found = found || cp.Name == name
						}
					}
					p.check(fmt.Sprintf("Service/%s targetPort %q exists in %s", s.Name, name, w.key), found)
				}
			}
		}
	}
	for _, o := range m.objects {
		if pdb, ok := o.typed.(*policyv1.PodDisruptionBudget); ok {
			p.check("PodDisruptionBudget/"+pdb.Name+" selects a workload", len(m.pdbSelects(&p, pdb.Name)) > 0)
		}
	}
	return p
}

func (m *manifest) find(kind, name string) runtime.Object {
	for _, o := range m.objects {
		if o.kind == kind && o.name == name {
			if o.typed != nil {
				return o.typed
			}
		}
	}
	return nil
}

func (m *manifest) names() []string {
	var out []string
	for _, o := range m.objects {
		out = append(out, o.kind+"/"+o.name)
	}
	return out
}

func (m *manifest) absent(p *problems, kind, name string) {
	for _, o := range m.objects {
		if o.kind == kind && o.name == name {
			*p = append(*p, fmt.Sprintf("%s/%s must not be rendered", kind, name))
		}
	}
}

func get[T runtime.Object](m *manifest, p *problems, kind, name string) T {
	var zero T
	o, ok := m.find(kind, name).(T)
	if !ok {
		*p = append(*p, fmt.Sprintf("%s/%s not rendered (have %v)", kind, name, m.names()))
		return zero
	}
	return o
}

func (m *manifest) deployment(p *problems, name string) *appsv1.Deployment {
	return get[*appsv1.Deployment](m, p, "Deployment", name)
}
func (m *manifest) statefulSet(p *problems, name string) *appsv1.StatefulSet {
	return get[*appsv1.StatefulSet](m, p, "StatefulSet", name)
}
func (m *manifest) secret(p *problems, name string) *corev1.Secret {
	return get[*corev1.Secret](m, p, "Secret", name)
}
func (m *manifest) configMap(p *problems, name string) *corev1.ConfigMap {
	return get[*corev1.ConfigMap](m, p, "ConfigMap", name)
}
func (m *manifest) pdb(p *problems, name string) *policyv1.PodDisruptionBudget {
	return get[*policyv1.PodDisruptionBudget](m, p, "PodDisruptionBudget", name)
}

func (m *manifest) custom(p *problems, kind, name string) map[string]any {
	for _, o := range m.objects {
		if o.kind == kind && o.name == name {
			return o.raw
		}
	}
	*p = append(*p, fmt.Sprintf("%s/%s not rendered", kind, name))
	return nil
}

// selectedBy lists the workloads whose pods the Service selects.
func (m *manifest) selectedBy(service string) []string {
	var out []string
	for _, s := range m.services {
		if s.Name != service {
			continue
		}
		for _, w := range m.workloads() {
			if len(s.Spec.Selector) > 0 && labelsMatch(s.Spec.Selector, w.template.Labels) {
				out = append(out, w.key)
			}
		}
	}
	return out
}

func (m *manifest) pdbSelects(p *problems, name string) []string {
	pdb := m.pdb(p, name)
	if pdb == nil {
		return nil
	}
	var out []string
	for _, w := range m.workloads() {
		if labelsMatch(pdb.Spec.Selector.MatchLabels, w.template.Labels) {
			out = append(out, w.key)
		}
	}
	return out
}

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func container(p *problems, spec corev1.PodSpec) corev1.Container {
	for _, c := range spec.Containers {
		if c.Name == "fangxin" {
			return c
		}
	}
	*p = append(*p, "no fangxin container")
	return corev1.Container{}
}

func mount(c corev1.Container, name string) corev1.VolumeMount {
	for _, vm := range c.VolumeMounts {
		if vm.Name == name {
			return vm
		}
	}
	return corev1.VolumeMount{}
}

func volumeSecret(spec corev1.PodSpec, name string) string {
	for _, v := range spec.Volumes {
		if v.Name == name && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

// memLimitEnv reports whether c sets GOMEMLIMIT from its own memory limit (the Go collector's
// soft limit, internal/gctune).
func memLimitEnv(c corev1.Container) bool {
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" {
			return true
		}
	}
	return false
}

func envFromSecret(c corev1.Container, name string) bool {
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == name {
			return true
		}
	}
	return false
}

func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func toStrings(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

type problems []string

func (p *problems) check(what string, ok bool) bool {
	if !ok {
		*p = append(*p, what+": not so")
	}
	return ok
}

func (p *problems) eq(what string, got, want any) {
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		*p = append(*p, fmt.Sprintf("%s: got %s, want %s", what, g, w))
	}
}

func (p *problems) probe(what string, pr *corev1.Probe, path, port string) {
	if pr == nil || pr.HTTPGet == nil {
		*p = append(*p, what+": no HTTP probe")
		return
	}
	p.eq(what+" path", pr.HTTPGet.Path, path)
	p.eq(what+" port", pr.HTTPGet.Port.StrVal, port)
}
