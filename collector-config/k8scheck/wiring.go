package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// workload is what Deployments, DaemonSets and StatefulSets share: a selector over a pod template.
type workload struct {
	id        string
	namespace string
	selector  *metav1.LabelSelector
	template  corev1.PodTemplateSpec
	claims    []string // StatefulSet volumeClaimTemplates: volumes too
}

type cluster struct {
	workloads  []workload
	services   []*corev1.Service
	configMaps map[string]*corev1.ConfigMap // "namespace/name"
	problems   []string
}

func (c *cluster) fail(id, format string, args ...any) {
	c.problems = append(c.problems, id+": "+fmt.Sprintf(format, args...))
}

// checkWiring runs every cross-object check on the decoded objects.
func checkWiring(objects []runtime.Object) []string {
	c := index(objects)
	for _, w := range c.workloads {
		c.checkSelector(w)
		c.checkVolumes(w)
		for _, ctr := range w.template.Spec.Containers {
			id := fmt.Sprintf("%s container %s", w.id, ctr.Name)
			c.checkEnvRefs(w, id, ctr)
			c.checkFiles(w, id, ctr)
			c.checkPorts(id, ctr)
			c.checkAddresses(id, ctr.Env)
		}
	}
	for _, svc := range c.services {
		c.checkService(svc)
	}
	for _, cm := range c.configMaps {
		c.checkTracingConfig(cm)
	}
	return c.problems
}

func index(objects []runtime.Object) *cluster {
	c := &cluster{configMaps: map[string]*corev1.ConfigMap{}}
	for _, obj := range objects {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			c.workloads = append(c.workloads, workload{"Deployment " + o.Namespace + "/" + o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, nil})
		case *appsv1.DaemonSet:
			c.workloads = append(c.workloads, workload{"DaemonSet " + o.Namespace + "/" + o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, nil})
		case *appsv1.StatefulSet:
			var claims []string
			for _, t := range o.Spec.VolumeClaimTemplates {
				claims = append(claims, t.Name)
			}
			c.workloads = append(c.workloads, workload{"StatefulSet " + o.Namespace + "/" + o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, claims})
		case *corev1.Service:
			c.services = append(c.services, o)
		case *corev1.ConfigMap:
			c.configMaps[o.Namespace+"/"+o.Name] = o
		}
	}
	return c
}

func (c *cluster) checkSelector(w workload) {
	selector, err := metav1.LabelSelectorAsSelector(w.selector)
	switch {
	case w.selector == nil:
		c.fail(w.id, "spec.selector: missing")
	case err != nil:
		c.fail(w.id, "spec.selector: %v", err)
	case selector.Empty() || !selector.Matches(labels.Set(w.template.Labels)):
		c.fail(w.id, "spec.selector %s does not select its own pod template's labels %v", selector, w.template.Labels)
	}
}

func (c *cluster) checkVolumes(w workload) {
	volumes := map[string]bool{}
	for _, name := range w.claims {
		volumes[name] = true
	}
	for _, v := range w.template.Spec.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap == nil {
			continue
		}
		cm, ok := c.configMaps[w.namespace+"/"+v.ConfigMap.Name]
		if !ok {
			c.fail(w.id, "volume %s: ConfigMap %s not in the build", v.Name, v.ConfigMap.Name)
			continue
		}
		for _, item := range v.ConfigMap.Items {
			if !hasKey(cm, item.Key) {
				c.fail(w.id, "volume %s: ConfigMap %s has no key %q", v.Name, cm.Name, item.Key)
			}
		}
	}
	for _, ctr := range w.template.Spec.Containers {
		for _, m := range ctr.VolumeMounts {
			if !volumes[m.Name] {
				c.fail(w.id, "container %s: volumeMount %s: no such volume", ctr.Name, m.Name)
			}
		}
	}
}

func (c *cluster) checkEnvRefs(w workload, id string, ctr corev1.Container) {
	for _, e := range ctr.Env {
		if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.ConfigMapKeyRef
		if cm, ok := c.configMaps[w.namespace+"/"+ref.Name]; !ok || !hasKey(cm, ref.Key) {
			c.fail(id, "env %s: ConfigMap %s key %s not in the build", e.Name, ref.Name, ref.Key)
		}
	}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef != nil {
			if _, ok := c.configMaps[w.namespace+"/"+from.ConfigMapRef.Name]; !ok {
				c.fail(id, "envFrom: ConfigMap %s not in the build", from.ConfigMapRef.Name)
			}
		}
	}
}

// checkFiles: every absolute path a container is given (--flag=/path arguments, env values) lies
// in one of its volume mounts, and a file in a ConfigMap mount is a file that ConfigMap holds.
func (c *cluster) checkFiles(w workload, id string, ctr corev1.Container) {
	var paths []string
	for _, arg := range ctr.Args {
		if _, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(value, "/") {
			paths = append(paths, value)
		}
	}
	for _, e := range ctr.Env {
		if strings.HasPrefix(e.Value, "/") {
			paths = append(paths, e.Value)
		}
	}
	for _, path := range paths {
		if problem := c.fileProblem(w, ctr, path); problem != "" {
			c.fail(id, "%s: %s", path, problem)
		}
	}
}

func (c *cluster) fileProblem(w workload, ctr corev1.Container, path string) string {
	for _, m := range ctr.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/"))
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
			continue
		}
		source := volumeByName(w.template.Spec.Volumes, m.Name)
		if source == nil || source.ConfigMap == nil || rel == "" {
			return "" // the mount itself, or a volume whose files are not known here
		}
		if cm := c.configMaps[w.namespace+"/"+source.ConfigMap.Name]; cm != nil && !configMapHasFile(cm, source.ConfigMap, strings.TrimPrefix(rel, "/")) {
			return fmt.Sprintf("not a file of ConfigMap %s mounted at %s", cm.Name, m.MountPath)
		}
		return ""
	}
	return "not inside any volumeMount"
}

func (c *cluster) checkPorts(id string, ctr corev1.Container) {
	declared := map[string]bool{}
	for _, p := range ctr.Ports {
		declared[strconv.Itoa(int(p.ContainerPort))] = true
		declared[p.Name] = p.Name != ""
	}
	for _, e := range ctr.Env {
		if port, ok := listenPort(e); ok && !declared[port] {
			c.fail(id, "env %s=%s listens on %s, which is not a containerPort", e.Name, e.Value, port)
		}
	}
	for name, probe := range map[string]*corev1.Probe{"readinessProbe": ctr.ReadinessProbe, "livenessProbe": ctr.LivenessProbe, "startupProbe": ctr.StartupProbe} {
		if probe != nil && probe.HTTPGet != nil && !declared[probe.HTTPGet.Port.String()] {
			c.fail(id, "%s: port %s is not a containerPort", name, probe.HTTPGet.Port.String())
		}
	}
}

// listenPort: the port of a listen address in the environment (collector-config's convention:
// 0.0.0.0:PORT or [::]:PORT, or a bare *_PORT number other than an outbound *_DNS_PORT).
func listenPort(e corev1.EnvVar) (string, bool) {
	if host, port, err := net.SplitHostPort(e.Value); err == nil && (host == "0.0.0.0" || host == "::" || host == "") {
		return port, true
	}
	if strings.HasSuffix(e.Name, "_PORT") && !strings.HasSuffix(e.Name, "_DNS_PORT") {
		if _, err := strconv.Atoi(e.Value); err == nil {
			return e.Value, true
		}
	}
	return "", false
}
