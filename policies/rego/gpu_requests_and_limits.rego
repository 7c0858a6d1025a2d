# gpu-requests-and-limits at admission: a container asking for nvidia.com/gpu or nvidia.com/mig-* sets a GPU
# limit (a request, if given, equal to it) and CPU and memory requests. Same cases, same messages as the
# pack's rule (policies/cases/gpu-requests-and-limits.yaml).
package gpuplatform.gpurequestsandlimits


template_paths := {
	"Deployment": ["spec", "template"],
	"StatefulSet": ["spec", "template"],
	"DaemonSet": ["spec", "template"],
	"ReplicaSet": ["spec", "template"],
	"Job": ["spec", "template"],
	"CronJob": ["spec", "jobTemplate", "spec", "template"],
}

object_ := input.review.object

template := object_ if object_.kind == "Pod"

template := t if {
	path := template_paths[object_.kind]
	t := object.get(object_, path, {})
}

# (name, container) of every init and app container; a nameless one is named by its place.
containers contains [name, c] if {
	some field in ["initContainers", "containers"]
	some i, c in object.get(template, ["spec", field], [])
	name := object.get(c, "name", sprintf("%s[%d]", [field, i]))
}

gpu_resource(r) if r == "nvidia.com/gpu"

gpu_resource(r) if startswith(r, "nvidia.com/mig-")

gpus(c) := sort([r |
	some r in {k | some k, _ in object.get(c, ["resources", "requests"], {})} | {k | some k, _ in object.get(c, ["resources", "limits"], {})}
	gpu_resource(r)
])

quantity(v) := sprintf("%v", [v])

violation contains {"msg": msg} if {
	some [name, c] in containers
	some r in gpus(c)
	not r in object.keys(object.get(c, ["resources", "limits"], {}))
	request := quantity(c.resources.requests[r])
	msg := sprintf(
		"%s: container %s: %s request %s has no limit; set limits %s: %s",
		[object_.metadata.name, name, r, request, r, request],
	)
}

violation contains {"msg": msg} if {
	some [name, c] in containers
	some r in gpus(c)
	limit := quantity(c.resources.limits[r])
	request := quantity(c.resources.requests[r])
	request != limit
	msg := sprintf("%s: container %s: %s request %s != limit %s", [object_.metadata.name, name, r, request, limit])
}

violation contains {"msg": msg} if {
	some [name, c] in containers
	count(gpus(c)) > 0
	absent := [r | some r in ["cpu", "memory"]; object.get(c, ["resources", "requests", r], "") == ""]
	count(absent) > 0
	msg := sprintf(
		"%s: container %s asks for %s without %s requests",
		[object_.metadata.name, name, concat(", ", gpus(c)), concat(" and ", absent)],
	)
}
