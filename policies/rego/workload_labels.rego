# workload-labels at admission: the pod template of every workload carries the cost labels, non-empty, and an
# allowed workload-type. The same cases as the pack's rule (policies/cases/workload-labels.yaml) must give the
# same messages here. Gatekeeper input: input.review.object, input.parameters.
package gpuplatform.workloadlabels

import data.lib.workloads

object_ := input.review.object

labels := object.get(workloads.template(object_), ["metadata", "labels"], {})

filled(key) if trim_space(workloads.text(labels, key)) != ""

missing := [key | some key in input.parameters.requiredLabels; not filled(key)]

found contains {"msg": msg} if {
	workloads.template(object_)
	count(missing) > 0
	msg := sprintf("%s: pod template labels missing or empty: %s", [object_.metadata.name, concat(", ", missing)])
}

found contains {"msg": msg} if {
	workloads.template(object_)
	value := workloads.text(labels, "workload-type")
	value != ""
	not value in {t | some t in input.parameters.workloadTypes}
	msg := sprintf(
		"%s: pod template workload-type is '%s'; allowed: %s",
		[object_.metadata.name, value, concat(", ", input.parameters.workloadTypes)],
	)
}

# What Gatekeeper reports; a pod's own updates pass (lib/workloads.rego, pod_update).
violation contains v if {
	not workloads.pod_update
	some v in found
}
