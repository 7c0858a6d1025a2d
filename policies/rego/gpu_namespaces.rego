# gpu-namespaces at admission: GPU workloads run only in namespaces the platform made for them (a team's, or
# the platform's inference namespace), and only on the pools that namespace may use: its
# gpu-platform.io/gpu-pools annotation, which the pack reads from the stack's Namespace resources and
# Gatekeeper hands the template as input.review.namespaceObject (Gatekeeper >= 3.22, PR #4285; audit too).
package gpuplatform.gpunamespaces

import data.lib.workloads

pools_annotation := "gpu-platform.io/gpu-pools"

object_ := input.review.object

name := object_.metadata.name

spec := object.get(workloads.template(object_), "spec", {})

asked := workloads.asked(spec)

# Gatekeeper's review names the request's namespace; the object's own, or the default, where it does not.
namespace := workloads.first_filled([
	workloads.text(input.review, "namespace"),
	workloads.text(object.get(object_, "metadata", {}), "namespace"),
	"default",
])

annotations := object.get(input.review, ["namespaceObject", "metadata", "annotations"], {})

allowed := sort({p | some p in split(annotations[pools_annotation], ","); p != ""})

wanted := workloads.text(object.get(spec, "nodeSelector", {}), "gpu-platform.io/pool")

found contains {"msg": msg} if {
	count(asked) > 0
	not is_string(annotations[pools_annotation])
	msg := sprintf(
		"%s: asks for %s in namespace '%s', which is not a GPU namespace (a team's or the platform's inference namespace)",
		[name, concat(", ", asked), namespace],
	)
}

found contains {"msg": msg} if {
	count(asked) > 0
	is_string(annotations[pools_annotation])
	wanted != ""
	not wanted in allowed
	msg := sprintf(
		"%s: selects GPU pool '%s', which namespace '%s' may not use; it may use: %s",
		[name, wanted, namespace, workloads.joined(allowed, "none")],
	)
}

# What Gatekeeper reports; a pod's own updates pass (lib/workloads.rego, pod_update).
violation contains v if {
	not workloads.pod_update
	some v in found
}
