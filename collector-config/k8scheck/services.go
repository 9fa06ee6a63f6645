package main

import (
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// checkService: a Service with a selector selects the pods of at least one workload in its
// namespace, and each of its ports reaches a container port of every workload it selects.
func (c *cluster) checkService(svc *corev1.Service) {
	id := "Service " + svc.Namespace + "/" + svc.Name
	if len(svc.Spec.Selector) == 0 {
		return
	}
	selected := 0
	for _, w := range c.workloads {
		if w.namespace != svc.Namespace || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
			continue
		}
		selected++
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort.String()
			if p.TargetPort.IntValue() == 0 && p.TargetPort.StrVal == "" {
				target = strconv.Itoa(int(p.Port))
			}
			if !hasContainerPort(w.template.Spec, target) {
				c.fail(id, "port %s: targetPort %s is not a containerPort of %s", p.Name, target, w.id)
			}
		}
	}
	if selected == 0 {
		c.fail(id, "selector %v selects no workload's pods", svc.Spec.Selector)
	}
}

// checkAddresses: every in-cluster address a container is given names a Service port that
// exists: host:port values whose host is NAME.NAMESPACE.svc[.cluster.local], and the agents'
// gateway DNS name and port (*_DNS_NAME with its *_DNS_PORT).
func (c *cluster) checkAddresses(id string, env []corev1.EnvVar) {
	values := map[string]string{}
	for _, e := range env {
		values[e.Name] = e.Value
		if host, port, err := net.SplitHostPort(e.Value); err == nil {
			c.checkServicePort(id+" env "+e.Name, host, port)
		}
	}
	for name, host := range values {
		if prefix, ok := strings.CutSuffix(name, "_DNS_NAME"); ok {
			c.checkServicePort(id+" env "+name, host, values[prefix+"_DNS_PORT"])
		}
	}
}

// checkTracingConfig: a TracingConfiguration carried by a ConfigMap exports to a Service port
// that exists.
func (c *cluster) checkTracingConfig(cm *corev1.ConfigMap) {
	for key, text := range cm.Data {
		var doc struct {
			Kind     string `json:"kind"`
			Endpoint string `json:"endpoint"`
		}
		if yaml.Unmarshal([]byte(text), &doc) != nil || doc.Kind != "TracingConfiguration" {
			continue
		}
		host, port, err := net.SplitHostPort(doc.Endpoint)
		id := "ConfigMap " + cm.Namespace + "/" + cm.Name + " " + key
		if err != nil {
			c.fail(id, "endpoint %q: want host:port", doc.Endpoint)
			continue
		}
		c.checkServicePort(id+" endpoint", host, port)
	}
}

// checkServicePort reports host:port when host is a Service's cluster DNS name and that Service
// (in the build) has no such port; other hosts are not this checker's business.
func (c *cluster) checkServicePort(id, host, port string) {
	parts := strings.Split(strings.TrimSuffix(host, ".cluster.local"), ".")
	if len(parts) != 3 || parts[2] != "svc" {
		return
	}
	for _, svc := range c.services {
		if svc.Name != parts[0] || svc.Namespace != parts[1] {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if strconv.Itoa(int(p.Port)) == port {
				return
			}
		}
		c.fail(id, "%s:%s: Service %s/%s has no port %s", host, port, parts[1], parts[0], port)
		return
	}
	c.fail(id, "%s:%s: no Service %s/%s in the build", host, port, parts[1], parts[0])
}

func hasContainerPort(spec corev1.PodSpec, port string) bool {
	for _, ctr := range spec.Containers {
		for _, p := range ctr.Ports {
			if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
				return true
			}
		}
	}
	return false
}

func hasKey(cm *corev1.ConfigMap, key string) bool {
	_, text := cm.Data[key]
	_, binary := cm.BinaryData[key]
	return text || binary
}

func volumeByName(volumes []corev1.Volume, name string) *corev1.Volume {
	for i := range volumes {
		if volumes[i].Name == name {
			return &volumes[i]
		}
	}
	return nil
}

// configMapHasFile: whether `file` (relative to the mount) is one of the files the ConfigMap
// volume projects: its items' paths when it lists items, else its keys.
func configMapHasFile(cm *corev1.ConfigMap, source *corev1.ConfigMapVolumeSource, file string) bool {
	if len(source.Items) == 0 {
		return hasKey(cm, file)
	}
	for _, item := range source.Items {
		if item.Path == file {
			return true
		}
	}
	return false
}
