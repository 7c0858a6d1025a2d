"""The platform's CrossGuard policy pack: rules in modules, the pack itself in `__main__.py`.

Nothing here imports from `components/`: the pack is published alone. What a rule
must know comes from its config schema (with defaults); what it checks against
(GPU pools, their taints and advertised resources) it reads from the resources.
"""
