# gpu-requests-and-limits at admission: a container asking for nvidia.com/gpu or nvidia.com/mig-* sets a GPU
# limit (a request, if given, equal to it) and CPU and memory requests. Same cases, same messages as the
# pack's rule (policies/cases/gpu-requests-and-limits.yaml).
package gpuplatform.gpurequestsandlimits

import data.lib.workloads

object_ := input.review.object

spec := object.get(workloads.template(object_), "spec", {})

quantity(v) := sprintf("%v", [v])

found contains {"msg": msg} if {
	some [name, c] in workloads.containers(spec)
	some r in workloads.gpu_resources(c)
	not r in object.keys(object.get(c, ["resources", "limits"], {}))
	request := quantity(c.resources.requests[r])
	msg := sprintf(
		"%s: container %s: %s request %s has no limit; set limits %s: %s",
		[object_.metadata.name, name, r, request, r, request],
	)
}

found contains {"msg": msg} if {
	some [name, c] in workloads.containers(spec)
	some r in workloads.gpu_resources(c)
	limit := quantity(c.resources.limits[r])
	request := quantity(c.resources.requests[r])
	request != limit
	msg := sprintf("%s: container %s: %s request %s != limit %s", [object_.metadata.name, name, r, request, limit])
}

found contains {"msg": msg} if {
	some [name, c] in workloads.containers(spec)
	count(workloads.gpu_resources(c)) > 0
	absent := [r | some r in ["cpu", "memory"]; object.get(c, ["resources", "requests", r], "") in {"", null}]
	count(absent) > 0
	msg := sprintf(
		"%s: container %s asks for %s without %s requests",
		[object_.metadata.name, name, concat(", ", workloads.gpu_resources(c)), concat(" and ", absent)],
	)
}

# What Gatekeeper reports; a pod's own updates pass (lib/workloads.rego, pod_update).
violation contains v if {
	not workloads.pod_update
	some v in found
}
