# gpu-placement at admission: a workload asking for GPUs selects one GPU pool (nodeSelector
# gpu-platform.io/pool), tolerates exactly that pool's NoSchedule taint and no other pool's, and asks for a
# resource the pool advertises. The pools come from the stack (input.parameters.pools), as the pack reads them
# from the node groups; same cases, same messages (policies/cases/gpu-placement.yaml).
package gpuplatform.gpuplacement

import data.lib.workloads

pool_label := "gpu-platform.io/pool"

object_ := input.review.object

name := object_.metadata.name

spec := object.get(workloads.template(object_), "spec", {})

asked := workloads.asked(spec)

wanted := workloads.text(object.get(spec, "nodeSelector", {}), pool_label)

pools := {p.name: p | some p in input.parameters.pools}

tolerations := [t | some t in object.get(spec, "tolerations", []); is_object(t)]

# Kubernetes' matching: same effect (or none); Exists matches the key (or every key when empty), Equal
# (the default) matches key and value (core/v1 Toleration.ToleratesTaint).
tolerates(t, taint) if {
	workloads.text(t, "effect") in {"", taint.effect}
	workloads.text(t, "operator") == "Exists"
	workloads.text(t, "key") in {"", taint.key}
}

tolerates(t, taint) if {
	workloads.text(t, "effect") in {"", taint.effect}
	workloads.text(t, "operator") in {"", "Equal"}
	workloads.text(t, "key") == taint.key
	workloads.text(t, "value") == workloads.text(taint, "value")
}

tolerated(taint) if {
	some t in tolerations
	tolerates(t, taint)
}

# EKS runs the ExtendedResourceToleration admission plugin: a pod that requests an extended resource gets
# {key: <resource>, operator: Exists, effect: NoSchedule} (kubernetes plugin/pkg/admission/
# extendedresourcetoleration). It fits every pool tainted nvidia.com/gpu, but the workload did not choose it.
added_by_api_server(t) if {
	workloads.text(t, "operator") == "Exists"
	workloads.text(t, "effect") == "NoSchedule"
	workloads.text(t, "key") in asked
}

chosen := [t | some t in tolerations; not added_by_api_server(t)]

found contains {"msg": msg} if {
	count(asked) > 0
	wanted == ""
	msg := sprintf(
		"%s: asks for %s but selects no GPU pool (nodeSelector %s)",
		[name, concat(", ", asked), pool_label],
	)
}

found contains {"msg": msg} if {
	count(asked) > 0
	wanted != ""
	not pools[wanted]
	msg := sprintf(
		"%s: selects GPU pool '%s', which no node group of this stack is; pools: %s",
		[name, wanted, workloads.joined(sort(object.keys(pools)), "none")],
	)
}

own := [taint | some taint in pools[wanted].taints; taint.effect == "NoSchedule"]

untolerated if count(own) == 0

untolerated if {
	some taint in own
	not tolerated(taint)
}

found contains {"msg": msg} if {
	count(asked) > 0
	pools[wanted]
	untolerated
	shown := workloads.joined([sprintf("%s=%s:%s", [t.key, workloads.text(t, "value"), t.effect]) | some t in own], "none")
	msg := sprintf("%s: does not tolerate the taint of GPU pool '%s' (%s)", [name, wanted, shown])
}

others := sort({p.name |
	some p in input.parameters.pools
	p.name != wanted
	some taint in p.taints
	some t in chosen
	tolerates(t, taint)
})

found contains {"msg": msg} if {
	count(asked) > 0
	pools[wanted]
	count(others) > 0
	msg := sprintf("%s: tolerates the taints of other GPU pools too: %s", [name, concat(", ", others)])
}

offer := {a.resource: a.count | some a in pools[wanted].advertised}

foreign := [r | some r in asked; not r in object.keys(offer)]

found contains {"msg": msg} if {
	count(asked) > 0
	pools[wanted]
	count(foreign) > 0
	shown := workloads.joined([sprintf("%s=%v", [r, offer[r]]) | some r in sort(object.keys(offer))], "nothing")
	msg := sprintf(
		"%s: asks for %s, which GPU pool '%s' does not advertise (it advertises %s)",
		[name, concat(", ", foreign), wanted, shown],
	)
}

# What Gatekeeper reports; a pod's own updates pass (lib/workloads.rego, pod_update).
violation contains v if {
	not workloads.pod_update
	some v in found
}
