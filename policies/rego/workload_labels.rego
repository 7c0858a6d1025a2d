# workload-labels at admission: the pod template of every workload carries the cost labels, non-empty, and an
# allowed workload-type. The same cases as the pack's rule (policies/cases/workload-labels.yaml) must give the
# same messages here. Gatekeeper input: input.review.object, input.parameters.
package gpuplatform.workloadlabels


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

labels := object.get(template, ["metadata", "labels"], {})

filled(key) if {
	value := labels[key]
	is_string(value)
	trim_space(value) != ""
}

missing := [key | some key in input.parameters.requiredLabels; not filled(key)]

violation contains {"msg": msg} if {
	template
	count(missing) > 0
	msg := sprintf("%s: pod template labels missing or empty: %s", [object_.metadata.name, concat(", ", missing)])
}

violation contains {"msg": msg} if {
	template
	value := labels["workload-type"]
	value != ""
	not value in {t | some t in input.parameters.workloadTypes}
	msg := sprintf(
		"%s: pod template workload-type is '%s'; allowed: %s",
		[object_.metadata.name, value, concat(", ", input.parameters.workloadTypes)],
	)
}
