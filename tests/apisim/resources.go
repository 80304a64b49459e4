package main

import (
	"sort"
	"strings"
)

// Resource describes one served resource type: what discovery announces,
// which field selectors it accepts and which columns its Table has.
type Resource struct {
	Group      string
	Version    string
	Kind       string
	Plural     string
	Singular   string
	ShortNames []string
	Namespaced bool
	Categories []string
	// BuiltIn types (core, apps) are typed structs in the real apiserver:
	// their list items carry no kind/apiVersion, unlike custom resources.
	BuiltIn bool
	// Fields are the field-selector labels besides metadata.name and
	// metadata.namespace, each with the object path it reads.
	Fields map[string][]string
	// Columns of the Table after Name (Age is added where the real server has it).
	Columns []Column
}

// GroupVersion is "v1" for the core group and "group/version" otherwise.
func (r *Resource) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// GroupResource is "pods" or "virtualmachineinstances.kubevirt.io", as error
// messages name a resource.
func (r *Resource) GroupResource() string {
	if r.Group == "" {
		return r.Plural
	}
	return r.Plural + "." + r.Group
}

// BasePath is the collection path prefix: /api/v1 or /apis/group/version.
func (r *Resource) BasePath() string {
	if r.Group == "" {
		return "/api/" + r.Version
	}
	return "/apis/" + r.Group + "/" + r.Version
}

var (
	podFields = map[string][]string{
		"spec.nodeName":            {"spec", "nodeName"},
		"spec.restartPolicy":       {"spec", "restartPolicy"},
		"spec.schedulerName":       {"spec", "schedulerName"},
		"spec.serviceAccountName":  {"spec", "serviceAccountName"},
		"status.phase":             {"status", "phase"},
		"status.podIP":             {"status", "podIP"},
		"status.nominatedNodeName": {"status", "nominatedNodeName"},
	}
	vmiFields = map[string][]string{
		"status.phase":    {"status", "phase"},
		"status.nodeName": {"status", "nodeName"},
	}
)

// resourceTable lists every served resource, in discovery order.
var resourceTable = []*Resource{
	{Group: "", Version: "v1", Kind: "Namespace", Plural: "namespaces", Singular: "namespace",
		ShortNames: []string{"ns"}, BuiltIn: true,
		Fields:  map[string][]string{"status.phase": {"status", "phase"}},
		Columns: []Column{{Name: "Status", Type: "string", Path: []string{"status", "phase"}}, ageColumn}},
	{Group: "", Version: "v1", Kind: "ConfigMap", Plural: "configmaps", Singular: "configmap",
		ShortNames: []string{"cm"}, Namespaced: true, BuiltIn: true,
		Columns: []Column{{Name: "Data", Type: "integer", Value: configMapData}, ageColumn}},
	{Group: "", Version: "v1", Kind: "Node", Plural: "nodes", Singular: "node",
		ShortNames: []string{"no"}, BuiltIn: true,
		Fields:  map[string][]string{"spec.unschedulable": {"spec", "unschedulable"}},
		Columns: []Column{{Name: "Status", Type: "string", Value: nodeStatus}, {Name: "Roles", Type: "string", Value: nodeRoles}, ageColumn, {Name: "Version", Type: "string", Path: []string{"status", "nodeInfo", "kubeletVersion"}}}},
	{Group: "", Version: "v1", Kind: "PersistentVolumeClaim", Plural: "persistentvolumeclaims", Singular: "persistentvolumeclaim",
		ShortNames: []string{"pvc"}, Namespaced: true, BuiltIn: true,
		Columns: []Column{{Name: "Status", Type: "string", Path: []string{"status", "phase"}}, {Name: "Volume", Type: "string", Path: []string{"spec", "volumeName"}}, {Name: "Capacity", Type: "string", Path: []string{"status", "capacity", "storage"}}, {Name: "StorageClass", Type: "string", Path: []string{"spec", "storageClassName"}}, ageColumn}},
	{Group: "", Version: "v1", Kind: "Pod", Plural: "pods", Singular: "pod",
		ShortNames: []string{"po"}, Namespaced: true, BuiltIn: true, Categories: []string{"all"},
		Fields:  podFields,
		Columns: []Column{{Name: "Ready", Type: "string", Value: podReady}, {Name: "Status", Type: "string", Path: []string{"status", "phase"}}, {Name: "Restarts", Type: "string", Value: podRestarts}, ageColumn, {Name: "IP", Type: "string", Priority: 1, Path: []string{"status", "podIP"}}, {Name: "Node", Type: "string", Priority: 1, Path: []string{"spec", "nodeName"}}}},
	{Group: "", Version: "v1", Kind: "Service", Plural: "services", Singular: "service",
		ShortNames: []string{"svc"}, Namespaced: true, BuiltIn: true, Categories: []string{"all"},
		Columns: []Column{{Name: "Type", Type: "string", Path: []string{"spec", "type"}}, {Name: "Cluster-IP", Type: "string", Path: []string{"spec", "clusterIP"}}, ageColumn}},
	{Group: "apps", Version: "v1", Kind: "ControllerRevision", Plural: "controllerrevisions", Singular: "controllerrevision",
		Namespaced: true, BuiltIn: true,
		Columns: []Column{{Name: "Revision", Type: "integer", Path: []string{"revision"}}, ageColumn}},
	{Group: "apps", Version: "v1", Kind: "DaemonSet", Plural: "daemonsets", Singular: "daemonset",
		ShortNames: []string{"ds"}, Namespaced: true, BuiltIn: true, Categories: []string{"all"},
		Columns: []Column{{Name: "Desired", Type: "integer", Path: []string{"status", "desiredNumberScheduled"}}, {Name: "Current", Type: "integer", Path: []string{"status", "currentNumberScheduled"}}, {Name: "Ready", Type: "integer", Path: []string{"status", "numberReady"}}, {Name: "Up-to-date", Type: "integer", Path: []string{"status", "updatedNumberScheduled"}}, {Name: "Available", Type: "integer", Path: []string{"status", "numberAvailable"}}, ageColumn}},
	{Group: "apps", Version: "v1", Kind: "Deployment", Plural: "deployments", Singular: "deployment",
		ShortNames: []string{"deploy"}, Namespaced: true, BuiltIn: true, Categories: []string{"all"},
		Columns: []Column{{Name: "Ready", Type: "string", Value: deploymentReady}, {Name: "Up-to-date", Type: "integer", Path: []string{"status", "updatedReplicas"}}, {Name: "Available", Type: "integer", Path: []string{"status", "availableReplicas"}}, ageColumn}},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet", Plural: "replicasets", Singular: "replicaset",
		ShortNames: []string{"rs"}, Namespaced: true, BuiltIn: true, Categories: []string{"all"},
		Columns: []Column{{Name: "Desired", Type: "integer", Path: []string{"spec", "replicas"}}, {Name: "Current", Type: "integer", Path: []string{"status", "replicas"}}, {Name: "Ready", Type: "integer", Path: []string{"status", "readyReplicas"}}, ageColumn}},
	{Group: "kubevirt.io", Version: "v1", Kind: "KubeVirt", Plural: "kubevirts", Singular: "kubevirt",
		ShortNames: []string{"kv", "kvs"}, Namespaced: true, Categories: []string{"all"},
		Columns: []Column{ageColumn, {Name: "Phase", Type: "string", Path: []string{"status", "phase"}}}},
	{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachine", Plural: "virtualmachines", Singular: "virtualmachine",
		ShortNames: []string{"vm", "vms"}, Namespaced: true, Categories: []string{"all"},
		Columns: []Column{ageColumn, {Name: "Status", Type: "string", Path: []string{"status", "printableStatus"}}, {Name: "Ready", Type: "string", Value: conditionStatus("Ready")}}},
	{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachineInstance", Plural: "virtualmachineinstances", Singular: "virtualmachineinstance",
		ShortNames: []string{"vmi", "vmis"}, Namespaced: true, Categories: []string{"all"},
		Fields: vmiFields,
		Columns: []Column{ageColumn, {Name: "Phase", Type: "string", Path: []string{"status", "phase"}}, {Name: "IP", Type: "string", Value: vmiIP}, {Name: "NodeName", Type: "string", Path: []string{"status", "nodeName"}}, {Name: "Ready", Type: "string", Value: conditionStatus("Ready")},
			{Name: "Live-Migratable", Type: "string", Priority: 1, Value: conditionStatus("LiveMigratable")}, {Name: "Paused", Type: "string", Priority: 1, Value: conditionStatus("Paused")}}},
	{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachineInstanceMigration", Plural: "virtualmachineinstancemigrations", Singular: "virtualmachineinstancemigration",
		ShortNames: []string{"vmim", "vmims"}, Namespaced: true, Categories: []string{"all"},
		Fields:  map[string][]string{"status.phase": {"status", "phase"}},
		Columns: []Column{{Name: "Phase", Type: "string", Path: []string{"status", "phase"}}, {Name: "VMI", Type: "string", Path: []string{"spec", "vmiName"}}}},
	{Group: "snapshot.kubevirt.io", Version: "v1beta1", Kind: "VirtualMachineSnapshot", Plural: "virtualmachinesnapshots", Singular: "virtualmachinesnapshot",
		ShortNames: []string{"vmsnapshot", "vmsnapshots"}, Namespaced: true, Categories: []string{"all"},
		Columns: []Column{{Name: "SourceKind", Type: "string", Path: []string{"spec", "source", "kind"}}, {Name: "SourceName", Type: "string", Path: []string{"spec", "source", "name"}}, {Name: "Phase", Type: "string", Path: []string{"status", "phase"}}, {Name: "ReadyToUse", Type: "boolean", Path: []string{"status", "readyToUse"}}, {Name: "CreationTime", Type: "date", Path: []string{"status", "creationTime"}}, {Name: "Error", Type: "string", Path: []string{"status", "error", "message"}}}},
	{Group: "instancetype.kubevirt.io", Version: "v1beta1", Kind: "VirtualMachineClusterInstancetype", Plural: "virtualmachineclusterinstancetypes", Singular: "virtualmachineclusterinstancetype",
		ShortNames: []string{"vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"},
		Columns:    []Column{ageColumn}},
	{Group: "instancetype.kubevirt.io", Version: "v1beta1", Kind: "VirtualMachineClusterPreference", Plural: "virtualmachineclusterpreferences", Singular: "virtualmachineclusterpreference",
		ShortNames: []string{"vmcp", "vmcps"},
		Columns:    []Column{ageColumn}},
	{Group: "instancetype.kubevirt.io", Version: "v1beta1", Kind: "VirtualMachineInstancetype", Plural: "virtualmachineinstancetypes", Singular: "virtualmachineinstancetype",
		ShortNames: []string{"vminstancetype", "vminstancetypes", "vmf", "vmfs"}, Namespaced: true,
		Columns: []Column{ageColumn}},
	{Group: "instancetype.kubevirt.io", Version: "v1beta1", Kind: "VirtualMachinePreference", Plural: "virtualmachinepreferences", Singular: "virtualmachinepreference",
		ShortNames: []string{"vmpref", "vmprefs", "vmp", "vmps"}, Namespaced: true,
		Columns: []Column{ageColumn}},
}

// findResource returns the resource served at group/version with that plural.
func findResource(group, version, plural string) *Resource {
	for _, r := range resourceTable {
		if r.Group == group && r.Version == version && r.Plural == plural {
			return r
		}
	}
	return nil
}

// resourceForKind returns the resource of an object's apiVersion and kind.
func resourceForKind(apiVersion, kind string) *Resource {
	for _, r := range resourceTable {
		if r.GroupVersion() == apiVersion && r.Kind == kind {
			return r
		}
	}
	return nil
}

// lookupResource resolves what a person types for a resource, as kubectl
// does: plural, singular, a short name, the kind, or "plural.group".
func lookupResource(name string) *Resource {
	name = strings.ToLower(name)
	for _, r := range resourceTable {
		if name == r.Plural || name == r.Singular || name == strings.ToLower(r.Kind) || name == r.GroupResource() {
			return r
		}
		for _, s := range r.ShortNames {
			if name == s {
				return r
			}
		}
	}
	return nil
}

// apiGroup is one API group with the versions it serves.
type apiGroup struct {
	Name     string
	Versions []string
}

// servedGroups lists the named groups (not the core group) in a stable order.
func servedGroups() []apiGroup {
	var groups []apiGroup
	index := map[string]int{}
	for _, r := range resourceTable {
		if r.Group == "" {
			continue
		}
		i, ok := index[r.Group]
		if !ok {
			i = len(groups)
			index[r.Group] = i
			groups = append(groups, apiGroup{Name: r.Group})
		}
		if !containsString(groups[i].Versions, r.Version) {
			groups[i].Versions = append(groups[i].Versions, r.Version)
		}
	}
	return groups
}

// resourcesIn lists the resources of one group version, sorted by plural.
func resourcesIn(group, version string) []*Resource {
	var out []*Resource
	for _, r := range resourceTable {
		if r.Group == group && r.Version == version {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Plural < out[j].Plural })
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
