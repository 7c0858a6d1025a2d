# What every template reads of a workload: its pod template, the containers in it, the GPU resources they ask
# for. Shipped as each ConstraintTemplate's `libs` (Gatekeeper puts libraries under data.lib: frameworks
# constraint/pkg/client/drivers/rego/driver.go, libRoot), the same file the tests load beside each template.
package lib.workloads

template_paths := {
	"Deployment": ["spec", "template"],
	"StatefulSet": ["spec", "template"],
	"DaemonSet": ["spec", "template"],
	"ReplicaSet": ["spec", "template"],
	"Job": ["spec", "template"],
	"CronJob": ["spec", "jobTemplate", "spec", "template"],
}

# A pod's UPDATE (status, finalizers, labels, ephemeral containers) is not judged: the pod was judged when it
# was created, or by its workload, and refusing its updates would strand it (a Job's pod could not lose its
# finalizer). Workloads are judged on update too. Gatekeeper's audit has no operation: it judges every pod.
pod_update if {
	input.review.operation == "UPDATE"
	input.review.object.kind == "Pod"
}

# The pod template (metadata + spec) of a workload; undefined for kinds without one.
template(obj) := obj if obj.kind == "Pod"

template(obj) := object.get(obj, template_paths[obj.kind], {})

# A string field, "" where it is missing, null or not a string (as the pack reads `x.get(k) or ""`).
text(obj, key) := value if {
	value := obj[key]
	is_string(value)
} else := ""

# [name, container] of every init and app container; a nameless one is named by its place.
containers(spec) := {[name, c] |
	some field in ["initContainers", "containers"]
	some i, c in object.get(spec, field, [])
	name := named(c, sprintf("%s[%d]", [field, i]))
}

named(c, place) := text(c, "name") if text(c, "name") != ""

else := place

# The first non-empty string of a list.
first_filled(values) := [v | some v in values; v != ""][0]

# Values joined by ", ", or `empty` when there are none.
joined(values, empty) := concat(", ", values) if count(values) > 0

else := empty

gpu_resource(r) if r == "nvidia.com/gpu"

gpu_resource(r) if startswith(r, "nvidia.com/mig-")

# The GPU resources a container requests or limits, sorted.
gpu_resources(c) := sort({r |
	some section in ["requests", "limits"]
	some r, _ in object.get(c, ["resources", section], {})
	gpu_resource(r)
})

# The GPU resources any container of a pod spec asks for, sorted.
asked(spec) := sort({r | some [_, c] in containers(spec); some r in gpu_resources(c)})
